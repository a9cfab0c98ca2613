package trace

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tshark returns the path of tshark, or skips the test when it is missing
// outside CI (CI must have it: a missing tshark fails there).
func tshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tshark is required in CI: %v", err)
		}
		t.Skip("tshark not installed")
	}
	return p
}

func runTshark(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile or preferences
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func writePcap(t *testing.T, tr *Trace) string {
	t.Helper()
	var b bytes.Buffer
	must(t, WritePcapng(&b, tr))
	path := filepath.Join(t.TempDir(), "trace.pcapng")
	must(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

func datagramCount(tr *Trace) int {
	n := 0
	for _, e := range tr.Events {
		if e.Type == TypeDatagram {
			n++
		}
	}
	return n
}

// Wireshark reads every datagram, dissects CoAP with the OSCORE option and
// shows the lab's comments.
func TestPcapngReadByTshark(t *testing.T) {
	bin := tshark(t)
	tr := buildFixture(t)
	path := writePcap(t, tr)
	out := runTshark(t, bin, "-r", path, "-T", "fields", "-E", "separator=|",
		"-e", "frame.number", "-e", "ip.src", "-e", "ip.dst", "-e", "udp.length", "-e", "coap.mid",
		"-e", "coap.opt.object_security_kid", "-e", "coap.opt.object_security_piv", "-e", "frame.comment")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != datagramCount(tr) {
		t.Fatalf("tshark read %d frames, the trace has %d datagrams:\n%s", len(lines), datagramCount(tr), out)
	}
	first := strings.Split(lines[0], "|")
	want := []string{"1", "127.0.1.1", "127.0.1.2"}
	for i, w := range want {
		if first[i] != w {
			t.Errorf("frame 1 field %d = %q, want %q", i, first[i], w)
		}
	}
	if first[4] != "23839" { // MID 0x5d1f
		t.Errorf("frame 1 CoAP MID = %q, want 23839 (0x5d1f)", first[4])
	}
	if first[5] != "20" || first[6] != "31" {
		t.Errorf("frame 1 OSCORE kid/piv = %q/%q, want 20/31", first[5], first[6])
	}
	if !strings.Contains(first[7], "{CTX_C_P {CTX_C_S}}") {
		t.Errorf("frame 1 comment %q lacks the layer stack", first[7])
	}
	if !strings.Contains(first[7], "Wireshark can decrypt the outer layer CTX_C_P with the contexts file; the inner layers are beyond it") {
		t.Errorf("frame 1 comment %q lacks the Wireshark verdict", first[7])
	}
	second := strings.Split(lines[1], "|")
	if second[5] != "5f" || second[6] != "42" {
		t.Errorf("frame 2 OSCORE kid/piv = %q/%q, want 5f/42", second[5], second[6])
	}
	// Checksums are right: tshark validates them when asked.
	bad := runTshark(t, bin, "-r", path, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "udp.checksum.status == \"Bad\" || ip.checksum.status == \"Bad\"")
	if strings.TrimSpace(bad) != "" {
		t.Errorf("frames with bad checksums:\n%s", bad)
	}
}

// With the contexts file given inline, Wireshark decrypts the outer layer
// of each hop and nothing deeper.
func TestWiresharkDecryptsOuterLayer(t *testing.T) {
	bin := tshark(t)
	tr := buildFixture(t)
	path := writePcap(t, tr)
	cmd := TsharkCommand(path, tr, true)
	if !strings.HasPrefix(cmd, "tshark -r ") || strings.Count(cmd, "uat:oscore_contexts:") != 2 {
		t.Fatalf("TsharkCommand = %q", cmd)
	}
	rows, skipped := WiresharkRows(tr, true)
	if len(rows) != 2 || len(skipped) != 0 {
		t.Fatalf("rows %v, skipped %v", rows, skipped)
	}
	args := []string{"-r", path}
	for _, r := range rows {
		args = append(args, "-o", "uat:oscore_contexts:"+r.Line())
	}
	args = append(args, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "oscore.opt.uri_host",
		"-e", "oscore.opt.uri_path", "-e", "oscore.payload", "-e", "_ws.expert.message")
	out := runTshark(t, bin, args...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Frame 1 (C->P): outer layer CTX_C_P decrypts; Uri-Host is inside it.
	if f := strings.Split(lines[0], "|"); f[1] != "example.com" {
		t.Errorf("frame 1 not decrypted with CTX_C_P: %q", lines[0])
	} else if f[2] != "" {
		t.Errorf("frame 1: Wireshark decrypted the inner layer too (%q)? it should not", f[2])
	}
	// Frame 2 (P->S): the outer layer there is CTX_C_S; Uri-Path is inside.
	if f := strings.Split(lines[1], "|"); f[2] != "alarm_status" {
		t.Errorf("frame 2 not decrypted with CTX_C_S: %q", lines[1])
	}

	// Without secrets only the demo context may be listed.
	rows, skipped = WiresharkRows(tr, false)
	if len(rows) != 1 || rows[0].Context != "CTX_C_S" || len(skipped) != 1 || !strings.Contains(skipped[0], "CTX_C_P") {
		t.Fatalf("without secrets: rows %v, skipped %v", rows, skipped)
	}
}

func TestWiresharkContextsFile(t *testing.T) {
	tr := buildFixture(t)
	tr.Contexts = append(tr.Contexts, ContextInfo{Name: "CTX_GCM", Alg: 1, HKDF: "SHA-256", MasterSecret: NullHex(demoSecret)})
	var b bytes.Buffer
	skipped, err := WriteWiresharkContexts(&b, tr, false)
	must(t, err)
	got := b.String()
	for _, want := range []string{
		`"5f","01","0102030405060708090a0b0c0d0e0f10","9e7ca92223786340","","AES-CCM-16-64-128 (CCM*)"` + "\n",
		"# not listed: CTX_C_P: master secret withheld",
		"# not listed: CTX_GCM: algorithm A128GCM; Wireshark only decrypts AES-CCM-16-64-128 (10)",
		"inner layers are beyond it",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("contexts file lacks %q:\n%s", want, got)
		}
	}
	if len(skipped) != 2 {
		t.Errorf("skipped = %v", skipped)
	}
	// A context name with a line break (a trace file from anywhere) stays
	// in its comment: it adds no row.
	tr.Contexts = append(tr.Contexts, ContextInfo{Name: "X\n\"aa\",\"bb\",\"cc\",\"\",\"\",\"AES-CCM-16-64-128 (CCM*)\"", Alg: 10, HKDF: "SHA-256"})
	b.Reset()
	_, err = WriteWiresharkContexts(&b, tr, false)
	must(t, err)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if strings.HasPrefix(line, `"aa"`) {
			t.Errorf("a context name became a row: %q", line)
		}
	}
}

// One row per context: a context listed twice, or another with the same
// Sender ID and ID Context (Wireshark would use the first row for both),
// adds no row, and the file says why.
func TestWiresharkContextsOneRowPerContext(t *testing.T) {
	tr := buildFixture(t)
	var first ContextInfo
	for _, c := range tr.Contexts {
		if c.Name == "CTX_C_S" {
			first = c
		}
	}
	twin := first
	twin.Name = "CTX_C_S_AGAIN"
	other := first
	other.Name = "CTX_OTHER"
	other.MasterSecret = NullHex(bytes.Repeat([]byte{0x42}, 16))
	tr.Contexts = append(tr.Contexts, first, twin, other)
	var b bytes.Buffer
	_, err := WriteWiresharkContexts(&b, tr, true)
	must(t, err)
	rows := 0
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if strings.HasPrefix(line, `"5f","01",`) {
			rows++
		}
	}
	if rows != 1 {
		t.Errorf("%d rows for Sender ID 5f, want 1:\n%s", rows, b.String())
	}
	for _, want := range []string{"# not listed: CTX_C_S: the same row as CTX_C_S", "# not listed: CTX_C_S_AGAIN: the same row as CTX_C_S",
		"# not listed: CTX_OTHER: Sender ID 0x5f and ID Context (empty) as CTX_C_S, whose row Wireshark would use"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("file lacks %q:\n%s", want, b.String())
		}
	}
}

// The file is well-formed pcapng: blocks chain to the end, lengths agree.
func TestPcapngBlockStructure(t *testing.T) {
	tr := buildFixture(t)
	var b bytes.Buffer
	must(t, WritePcapng(&b, tr))
	data := b.Bytes()
	counts := map[uint32]int{}
	for off := 0; off < len(data); {
		if len(data)-off < 12 {
			t.Fatalf("trailing %d bytes at %d", len(data)-off, off)
		}
		typ := binary.LittleEndian.Uint32(data[off:])
		n := int(binary.LittleEndian.Uint32(data[off+4:]))
		if n%4 != 0 || n < 12 || off+n > len(data) {
			t.Fatalf("block at %d: bad length %d", off, n)
		}
		if tail := int(binary.LittleEndian.Uint32(data[off+n-4:])); tail != n {
			t.Fatalf("block at %d: trailing length %d != %d", off, tail, n)
		}
		counts[typ]++
		off += n
	}
	if counts[blockSHB] != 1 || counts[blockIDB] != 3 || counts[blockEPB] != datagramCount(tr) {
		t.Fatalf("blocks %v", counts)
	}
}

func TestNodeAddr(t *testing.T) {
	for i, want := range map[int]string{0: "127.0.1.1", 1: "127.0.1.2", 253: "127.0.1.254", 254: "127.0.2.1"} {
		if got := NodeAddr(i).String(); got != want {
			t.Errorf("NodeAddr(%d) = %s, want %s", i, got, want)
		}
	}
}

// The row written for an empty Sender ID (RFC 8613 C.1 client) lets
// Wireshark decrypt the Appendix C request C.4 and its response C.7, and a
// datagram without recovered layers carries no layer line in its comment.
func TestWiresharkDecryptsRFC8613Vectors(t *testing.T) {
	bin := tshark(t)
	tr := &Trace{
		Nodes: []NodeInfo{{ID: "C", Role: "client"}, {ID: "S", Role: "server"}},
		Contexts: []ContextInfo{{Name: "C.1", Alg: 10, HKDF: "SHA-256", MasterSecret: NullHex(demoSecret), MasterSalt: saltDemo,
			Endpoints: []Endpoint{{Node: "S", SenderID: []byte{0x01}, RecipientID: []byte{}}, {Node: "C", SenderID: []byte{}, RecipientID: []byte{0x01}}}}},
		Events: []Event{
			{Seq: 1, Type: TypeDatagram, From: "C", To: "S", Dir: DirRequest,
				Bytes: unhex(t, "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e")},
			{Seq: 2, Type: TypeDatagram, From: "S", To: "C", Dir: DirResponse,
				Bytes: unhex(t, "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106")},
		},
	}
	rows, skipped := WiresharkRows(tr, false)
	if len(rows) != 1 || len(skipped) != 0 || len(rows[0].SenderID) != 0 {
		t.Fatalf("rows %+v skipped %v: want the client side (empty Sender ID)", rows, skipped)
	}
	path := writePcap(t, tr)
	out := runTshark(t, bin, "-r", path, "-o", "uat:oscore_contexts:"+rows[0].Line(),
		"-T", "fields", "-E", "separator=|", "-e", "oscore.tag", "-e", "oscore.opt.uri_path", "-e", "oscore.code", "-e", "frame.comment")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("tshark output:\n%s", out)
	}
	req, resp := strings.Split(lines[0], "|"), strings.Split(lines[1], "|")
	if req[0] == "" || req[1] != "tv1" {
		t.Errorf("C.4 not decrypted and verified: %q", lines[0])
	}
	if resp[0] == "" || resp[2] != "69" { // 2.05
		t.Errorf("C.7 not decrypted and verified: %q", lines[1])
	}
	if strings.Contains(lines[0], "layers") {
		t.Errorf("comment claims layers the trace has no reports for: %q", req[3])
	}
}
