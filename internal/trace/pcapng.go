package trace

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"oscore-lab/oscore"
)

// pcapng block types and options (draft-ietf-opsawg-pcapng: SHB 4.1,
// IDB 4.2, EPB 4.3).
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	byteOrderMagic = 0x1a2b3c4d

	optEnd        = 0
	optComment    = 1
	optSHBUserApp = 4
	optIfName     = 2
	optIfDesc     = 3
	optIfTSResol  = 9

	linktypeIPv4 = 228 // LINKTYPE_IPV4: raw IPv4, no link header
)

// CoAPPort is the UDP port written on both sides of every datagram in a
// pcapng file, so that Wireshark dissects CoAP and OSCORE without
// "Decode As" (RFC 7252 6.1 default port).
const CoAPPort = 5683

// maxUDPPayload is the largest payload an IPv4 UDP datagram can carry.
const maxUDPPayload = 65535 - 20 - 8

// NodeAddr is the synthetic IPv4 address of the i-th node (0-based) in a
// pcapng file: 127.0.1.1, 127.0.1.2, … in node order, so that Wireshark's
// flow graph draws one lifeline per node and no private range appears.
func NodeAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, byte(1 + i/254), byte(1 + i%254)})
}

// WritePcapng writes every datagram of the trace as a pcapng capture: one
// interface per node (named after it, LINKTYPE_IPV4), one Enhanced Packet
// Block per datagram on its sender's interface, with a synthetic IPv4/UDP
// header (see NodeAddr and CoAPPort) and a comment holding what the lab
// saw: the layer stack with the nested plaintexts and the nodes' decisions.
// Wireshark can decrypt the outer layer of each hop with the file
// WriteWiresharkContexts writes; inner layers are beyond it.
func WritePcapng(w io.Writer, t *Trace) error {
	v := newView(t)
	t = v.t // never nil
	if len(v.nodes) > 254*250 {
		return fmt.Errorf("trace: %d nodes are too many for synthetic addresses", len(v.nodes))
	}
	bw := bufio.NewWriter(w)
	pw := pcapngWriter{w: bw}
	pw.block(blockSHB, func(b []byte) []byte {
		b = binary.LittleEndian.AppendUint32(b, byteOrderMagic)
		b = binary.LittleEndian.AppendUint16(b, 1) // major
		b = binary.LittleEndian.AppendUint16(b, 0) // minor
		b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
		b = appendOption(b, optSHBUserApp, []byte("oscore-lab"))
		return appendOption(b, optEnd, nil)
	})
	iface := map[string]uint32{}
	roles := map[string]string{}
	for _, n := range t.Nodes {
		roles[n.ID] = n.Role
	}
	for i, n := range v.nodes {
		iface[n] = uint32(i)
		desc := fmt.Sprintf("oscore-lab node %s %s at %s", n, roles[n], NodeAddr(i))
		pw.block(blockIDB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint16(b, linktypeIPv4)
			b = binary.LittleEndian.AppendUint16(b, 0)
			b = binary.LittleEndian.AppendUint32(b, 0) // no snap length limit
			b = appendOption(b, optIfName, []byte(n))
			b = appendOption(b, optIfDesc, []byte(strings.Join(strings.Fields(desc), " ")))
			b = appendOption(b, optIfTSResol, []byte{9}) // nanoseconds
			return appendOption(b, optEnd, nil)
		})
	}
	for i, e := range t.Events {
		if e.Type != TypeDatagram {
			continue
		}
		if len(e.Bytes) > maxUDPPayload {
			return fmt.Errorf("trace: datagram seq %d of %d bytes does not fit in IPv4", e.Seq, len(e.Bytes))
		}
		src, dst := NodeAddr(int(iface[e.From])), NodeAddr(int(iface[e.To]))
		pkt := ipv4UDP(src, dst, uint16(e.Seq), e.Bytes)
		ts := uint64(e.Time.UnixNano())
		if e.Time.IsZero() || e.Time.UnixNano() < 0 {
			ts = 0
		}
		comment := pcapComment(v, i, e)
		pw.block(blockEPB, func(b []byte) []byte {
			b = binary.LittleEndian.AppendUint32(b, iface[e.From])
			b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
			b = binary.LittleEndian.AppendUint32(b, uint32(ts))
			b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
			b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
			b = append(b, pkt...)
			b = pad4(b)
			b = appendOption(b, optComment, []byte(comment))
			return appendOption(b, optEnd, nil)
		})
	}
	if pw.err != nil {
		return fmt.Errorf("trace: writing pcapng: %w", pw.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: writing pcapng: %w", err)
	}
	return nil
}

// pcapComment is what the lab knows about datagram i beyond its bytes.
func pcapComment(v *view, i int, e Event) string {
	lines := []string{fmt.Sprintf("oscore-lab seq %d, exchange %d, hop %d, %s %s -> %s", e.Seq, e.Exchange, e.Hop, e.Dir, e.From, e.To)}
	if d := v.dgrams[i]; d.inner != "" {
		lines = append(lines, "layers "+stackBraces(stackNames(d.stack))+": "+d.inner, wiresharkVerdict(v.t, d.stack))
	} else if d.reason != "" {
		lines = append(lines, d.reason)
		if d.sent != "" {
			lines = append(lines, d.sent)
		}
	}
	for _, j := range v.attached[i] {
		lines = append(lines, eventLine(v.t.Events[j]))
	}
	return strings.Join(lines, "\n")
}

type pcapngWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// block writes one block: type, total length, body, total length.
func (p *pcapngWriter) block(typ uint32, body func([]byte) []byte) {
	if p.err != nil {
		return
	}
	b := binary.LittleEndian.AppendUint32(p.buf[:0], typ)
	b = binary.LittleEndian.AppendUint32(b, 0) // length, patched below
	b = body(b)
	total := uint32(len(b) + 4)
	binary.LittleEndian.PutUint32(b[4:], total)
	b = binary.LittleEndian.AppendUint32(b, total)
	p.buf = b
	_, p.err = p.w.Write(b)
}

func appendOption(b []byte, code uint16, value []byte) []byte {
	if len(value) > 0xffff {
		value = value[:0xffff]
	}
	b = binary.LittleEndian.AppendUint16(b, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(value)))
	return pad4(append(b, value...))
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// ipv4UDP builds an IPv4 header (RFC 791) and a UDP header (RFC 768) with
// correct checksums around payload.
func ipv4UDP(src, dst netip.Addr, id uint16, payload []byte) []byte {
	s, d := src.As4(), dst.As4()
	udpLen := 8 + len(payload)
	p := make([]byte, 20+udpLen)
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(20+udpLen))
	binary.BigEndian.PutUint16(p[4:], id)
	binary.BigEndian.PutUint16(p[6:], 0x4000) // don't fragment
	p[8] = 64
	p[9] = 17
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	binary.BigEndian.PutUint16(p[10:], checksum(0, p[:20]))

	u := p[20:]
	binary.BigEndian.PutUint16(u[0:], CoAPPort)
	binary.BigEndian.PutUint16(u[2:], CoAPPort)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	copy(u[8:], payload)
	var pseudo [12]byte
	copy(pseudo[0:4], s[:])
	copy(pseudo[4:8], d[:])
	pseudo[9] = 17
	binary.BigEndian.PutUint16(pseudo[10:], uint16(udpLen))
	sum := checksum(sum16(0, pseudo[:]), u)
	if sum == 0 {
		sum = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(u[6:], sum)
	return p
}

func sum16(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// checksum is the Internet checksum (RFC 1071) of b added to acc.
func checksum(acc uint32, b []byte) uint16 {
	acc = sum16(acc, b)
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return ^uint16(acc)
}

// wiresharkVerdict says how far Wireshark can follow a layer stack
// (outermost first): only the outer layer, and only with algorithm 10.
func wiresharkVerdict(t *Trace, stack []*oscore.Report) string {
	outer := stack[0].Context
	alg := 0
	for _, c := range t.Contexts {
		if c.Name == outer {
			alg = c.Alg
		}
	}
	var s string
	switch alg {
	case int(oscore.AESCCM16_64_128):
		s = "Wireshark can decrypt the outer layer " + outer + " with the contexts file"
	case 0:
		s = "Wireshark: context " + outer + " is not in this trace"
	default:
		s = fmt.Sprintf("Wireshark cannot decrypt %s (algorithm %s; it knows only AES-CCM-16-64-128)", outer, oscore.AEADAlg(alg))
	}
	if len(stack) > 1 {
		s += "; the inner layers are beyond it"
	}
	return s
}
