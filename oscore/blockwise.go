package oscore

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
)

// SplitBlock2 cuts an application response into Inner Block2 pieces of
// 2^(szx+4) bytes (RFC 8613 4.1.3.4.1; RFC 7959 2.2-2.4), to be protected
// one by one: each piece carries Block2 (NUM, M, SZX), the first also Size2
// with the total length. A payload that fits one block is returned
// unchanged. szx must be 0 (16 bytes) to 6 (1024 bytes).
func SplitBlock2(m message.Message, szx uint8) ([]message.Message, error) {
	if szx > 6 {
		return nil, fmt.Errorf("oscore: Block2 SZX %d outside 0..6 (RFC 7959 2.2)", szx)
	}
	size := 1 << (szx + 4)
	if len(m.Payload) <= size {
		return []message.Message{m}, nil
	}
	n := (len(m.Payload) + size - 1) / size
	if n > 1<<20 {
		return nil, fmt.Errorf("oscore: payload needs %d blocks (max 2^20)", n)
	}
	out := make([]message.Message, 0, n)
	for num := 0; num < n; num++ {
		end := min((num+1)*size, len(m.Payload))
		more := end < len(m.Payload)
		opts := make(message.Options, 0, len(m.Options)+2)
		for _, o := range m.Options {
			if o.ID != optBlock2 && o.ID != optSize2 {
				opts = append(opts, o)
			}
		}
		opts = opts.Add(message.Option{ID: optBlock2, Value: encodeUint(blockValue(num, more, szx))})
		if num == 0 {
			opts = opts.Add(message.Option{ID: optSize2, Value: encodeUint(uint64(len(m.Payload)))})
		}
		p := m
		p.Options = opts
		p.Payload = m.Payload[num*size : end]
		out = append(out, p)
	}
	return out, nil
}

func blockValue(num int, more bool, szx uint8) uint64 {
	v := uint64(num)<<4 | uint64(szx)
	if more {
		v |= 8
	}
	return v
}

// Block is a decoded Block1/Block2 value (RFC 7959 2.2).
type Block struct {
	Num  int
	More bool
	SZX  uint8
}

// ParseBlock decodes a Block option value (at most 3 bytes; SZX 7 reserved).
func ParseBlock(v []byte) (Block, error) {
	if len(v) > 3 {
		return Block{}, fmt.Errorf("oscore: Block value of %d bytes (max 3, RFC 7959 2.2)", len(v))
	}
	n := decodeUint(v)
	b := Block{Num: int(n >> 4), More: n&8 != 0, SZX: uint8(n & 7)}
	if b.SZX == 7 {
		return Block{}, fmt.Errorf("oscore: reserved Block SZX 7 (RFC 7959 2.2)")
	}
	return b, nil
}

// ReassembleBlock2 joins Inner Block2 pieces, already unprotected, back
// into one response (RFC 8613 4.1.3.4.1: the receiver processes OSCORE
// before block-wise). The pieces must be in order from NUM 0 with one SZX,
// every piece but the last full and with M set, and the total must match a
// Size2 if one was sent. Block2 and Size2 are removed from the result.
func ReassembleBlock2(pieces []message.Message) (message.Message, error) {
	if len(pieces) == 0 {
		return message.Message{}, fmt.Errorf("oscore: no Block2 pieces")
	}
	var payload []byte
	var szx uint8
	size2 := -1
	for i, p := range pieces {
		v, ok := findOption(p.Options, optBlock2)
		if !ok {
			if len(pieces) == 1 {
				return p, nil
			}
			return message.Message{}, fmt.Errorf("oscore: piece %d has no Block2", i)
		}
		b, err := ParseBlock(v)
		if err != nil {
			return message.Message{}, err
		}
		if i == 0 {
			szx = b.SZX
			if s, ok := findOption(p.Options, optSize2); ok {
				size2 = int(decodeUint(s))
			}
		}
		size := 1 << (szx + 4)
		switch {
		case b.Num != i:
			return message.Message{}, fmt.Errorf("oscore: Block2 piece %d has NUM %d", i, b.Num)
		case b.SZX != szx:
			return message.Message{}, fmt.Errorf("oscore: Block2 piece %d changes SZX from %d to %d", i, szx, b.SZX)
		case b.More != (i < len(pieces)-1):
			return message.Message{}, fmt.Errorf("oscore: Block2 piece %d has M=%v", i, b.More)
		case b.More && len(p.Payload) != size:
			return message.Message{}, fmt.Errorf("oscore: Block2 piece %d has %d bytes, want %d", i, len(p.Payload), size)
		case !b.More && len(p.Payload) > size:
			return message.Message{}, fmt.Errorf("oscore: last Block2 piece has %d bytes, more than %d", len(p.Payload), size)
		}
		payload = append(payload, p.Payload...)
	}
	if size2 >= 0 && size2 != len(payload) {
		return message.Message{}, fmt.Errorf("oscore: reassembled %d bytes, Size2 said %d", len(payload), size2)
	}
	out := pieces[0]
	opts := make(message.Options, 0, len(out.Options))
	for _, o := range out.Options {
		if o.ID != optBlock2 && o.ID != optSize2 {
			opts = append(opts, o)
		}
	}
	out.Options, out.Payload = opts, payload
	return out, nil
}
