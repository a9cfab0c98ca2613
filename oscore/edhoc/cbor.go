package edhoc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"oscore-lab/oscore/internal/cborenc"
)

// Hand-built deterministic CBOR (RFC 8949 4.2.1), which every EDHOC message
// and structure must use (RFC 9528 3.1): shortest heads, definite lengths.
// The reader refuses anything else, so a message that decodes also
// re-encodes to the same bytes (RFC 9529 4 lists the cases).

// bstr returns b as a CBOR byte string.
func bstr(b []byte) []byte { return cborenc.AppendBstr(make([]byte, 0, len(b)+3), b) }

// cat concatenates CBOR items into one sequence (RFC 8742).
func cat(items ...[]byte) []byte {
	n := 0
	for _, it := range items {
		n += len(it)
	}
	out := make([]byte, 0, n)
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// Major types.
const (
	mtUint   = 0
	mtNegInt = 1
	mtBstr   = 2
	mtTstr   = 3
	mtArray  = 4
	mtMap    = 5
	mtTag    = 6
	mtSimple = 7
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 16

var errTruncated = errors.New("truncated CBOR item")

// reader decodes a CBOR sequence item by item.
type reader struct {
	b   []byte
	off int
}

func (r *reader) done() bool { return r.off >= len(r.b) }

// peek returns the major type of the next item.
func (r *reader) peek() (byte, error) {
	if r.done() {
		return 0, errTruncated
	}
	return r.b[r.off] >> 5, nil
}

// head reads one head, refusing indefinite lengths, reserved values and
// arguments not in their shortest form.
func (r *reader) head() (mt byte, arg uint64, err error) {
	if r.done() {
		return 0, 0, errTruncated
	}
	ib := r.b[r.off]
	mt, ai := ib>>5, ib&0x1f
	switch {
	case ai < 24:
		r.off++
		return mt, uint64(ai), nil
	case ai == 31:
		return 0, 0, fmt.Errorf("indefinite-length item (0x%02x) is not deterministic CBOR", ib)
	case ai > 27:
		return 0, 0, fmt.Errorf("reserved additional information in 0x%02x", ib)
	}
	n := 1 << (ai - 24)
	if len(r.b)-r.off-1 < n {
		return 0, 0, errTruncated
	}
	for _, c := range r.b[r.off+1 : r.off+1+n] {
		arg = arg<<8 | uint64(c)
	}
	if mt == mtSimple {
		if ai == 24 && arg < 32 {
			return 0, 0, fmt.Errorf("simple value %d in two bytes", arg)
		}
	} else if min := [4]uint64{24, 0x100, 0x10000, 0x100000000}[ai-24]; arg < min {
		return 0, 0, fmt.Errorf("argument %d not in its shortest form (0x%02x)", arg, ib)
	}
	r.off += 1 + n
	return mt, arg, nil
}

// int reads an integer that fits an int64.
func (r *reader) int() (int64, error) {
	start := r.off
	mt, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if mt != mtUint && mt != mtNegInt {
		r.off = start
		return 0, fmt.Errorf("expected an integer, found major type %d", mt)
	}
	if arg > 1<<63-1 {
		return 0, errors.New("integer out of range")
	}
	if mt == mtNegInt {
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

// bytesOf reads a byte or text string body of the given major type.
func (r *reader) bytesOf(want byte) ([]byte, error) {
	start := r.off
	mt, n, err := r.head()
	if err != nil {
		return nil, err
	}
	if mt != want {
		r.off = start
		return nil, fmt.Errorf("expected major type %d, found %d", want, mt)
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, errTruncated
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v, nil
}

func (r *reader) bstr() ([]byte, error) { return r.bytesOf(mtBstr) }

// item returns the raw bytes of the next complete item.
func (r *reader) item() ([]byte, error) {
	start := r.off
	if err := r.skip(0); err != nil {
		return nil, err
	}
	return r.b[start:r.off], nil
}

func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return errors.New("CBOR nested too deeply")
	}
	mt, n, err := r.head()
	if err != nil {
		return err
	}
	switch mt {
	case mtBstr, mtTstr:
		if n > uint64(len(r.b)-r.off) {
			return errTruncated
		}
		r.off += int(n)
	case mtArray, mtMap:
		if mt == mtMap {
			if n > uint64(len(r.b)) {
				return errTruncated
			}
			n *= 2
		}
		// every item needs at least one byte: bound n before looping
		if n > uint64(len(r.b)-r.off) {
			return errTruncated
		}
		for i := uint64(0); i < n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case mtTag:
		return r.skip(depth + 1)
	}
	return nil
}

// intMap reads a map whose keys are integers, returning each value's raw
// bytes. Keys must be unique and in deterministic order (RFC 8949 4.2.1:
// bytewise order of their encodings).
func (r *reader) intMap() (map[int64][]byte, []int64, error) {
	mt, n, err := r.head()
	if err != nil {
		return nil, nil, err
	}
	if mt != mtMap {
		return nil, nil, fmt.Errorf("expected a map, found major type %d", mt)
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, nil, errTruncated
	}
	m := make(map[int64][]byte, n)
	keys := make([]int64, 0, n)
	var prev []byte
	for i := uint64(0); i < n; i++ {
		kstart := r.off
		k, err := r.int()
		if err != nil {
			return nil, nil, fmt.Errorf("map key: %w", err)
		}
		enc := r.b[kstart:r.off]
		if prev != nil && string(enc) <= string(prev) {
			return nil, nil, fmt.Errorf("map key %d out of deterministic order or repeated", k)
		}
		prev = enc
		v, err := r.item()
		if err != nil {
			return nil, nil, err
		}
		m[k] = v
		keys = append(keys, k)
	}
	return m, keys, nil
}

// diag renders one CBOR item in diagnostic notation (RFC 8949 8), for
// reports; it renders what it can and marks the rest.
func diag(b []byte) string {
	r := &reader{b: b}
	var sb strings.Builder
	for i := 0; !r.done(); i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		if err := r.diag(&sb, 0); err != nil {
			sb.WriteString("<invalid: " + err.Error() + ">")
			break
		}
	}
	return sb.String()
}

func (r *reader) diag(sb *strings.Builder, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	mt, n, err := r.head()
	if err != nil {
		return err
	}
	switch mt {
	case mtUint:
		sb.WriteString(strconv.FormatUint(n, 10))
	case mtNegInt:
		if n > 1<<63-1 {
			sb.WriteString("-1-" + strconv.FormatUint(n, 10))
		} else {
			sb.WriteString(strconv.FormatInt(-1-int64(n), 10))
		}
	case mtBstr, mtTstr:
		if n > uint64(len(r.b)-r.off) {
			return errTruncated
		}
		v := r.b[r.off : r.off+int(n)]
		r.off += int(n)
		if mt == mtBstr {
			sb.WriteString("h'" + hex.EncodeToString(v) + "'")
		} else {
			sb.WriteString(strconv.Quote(string(v)))
		}
	case mtArray, mtMap:
		open, close := "[", "]"
		if mt == mtMap {
			open, close = "{", "}"
		}
		sb.WriteString(open)
		for i := uint64(0); i < n; i++ {
			if i > 0 {
				sb.WriteString(", ")
			}
			if err := r.diag(sb, depth+1); err != nil {
				return err
			}
			if mt == mtMap {
				sb.WriteString(": ")
				if err := r.diag(sb, depth+1); err != nil {
					return err
				}
			}
		}
		sb.WriteString(close)
	case mtTag:
		sb.WriteString(strconv.FormatUint(n, 10) + "(")
		if err := r.diag(sb, depth+1); err != nil {
			return err
		}
		sb.WriteString(")")
	case mtSimple:
		switch n {
		case 20:
			sb.WriteString("false")
		case 21:
			sb.WriteString("true")
		case 22:
			sb.WriteString("null")
		case 23:
			sb.WriteString("undefined")
		default:
			sb.WriteString("simple(" + strconv.FormatUint(n, 10) + ")")
		}
	}
	return nil
}
