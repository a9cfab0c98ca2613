package edhoc

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"oscore-lab/oscore/internal/cborenc"
)

// EADItem is one External Authorization Data item (RFC 9528 3.8): a label
// and an optional byte string value. A negative label marks the item
// critical; label 0 is padding.
type EADItem struct {
	Label    int64
	Value    []byte
	HasValue bool
}

// Critical reports whether a receiver that does not understand the item
// must abort (RFC 9528 3.8).
func (e EADItem) Critical() bool { return e.Label < 0 }

// Padding reports whether the item is padding, which receivers ignore.
func (e EADItem) Padding() bool { return e.Label == 0 }

func (e EADItem) String() string {
	s := "ead " + strconv.FormatInt(e.Label, 10)
	if e.Critical() {
		s += " (critical)"
	}
	if e.HasValue {
		s += " h'" + hex.EncodeToString(e.Value) + "'"
	}
	return s
}

// appendEAD appends EAD items as a CBOR sequence: label, then the value
// if there is one.
func appendEAD(dst []byte, items []EADItem) []byte {
	for _, it := range items {
		dst = cborenc.AppendInt(dst, it.Label)
		if it.HasValue {
			dst = cborenc.AppendBstr(dst, it.Value)
		}
	}
	return dst
}

// maxEADItems bounds the items one message may carry.
const maxEADItems = 64

// ead reads the rest of the sequence as EAD items (RFC 9528 3.8:
// 1* (ead_label: int, ? ead_value: bstr)) and returns them with their raw
// bytes, which enter context_2/3 and the transcript unchanged.
func (r *reader) ead() ([]EADItem, []byte, error) {
	start := r.off
	var items []EADItem
	for !r.done() {
		if len(items) == maxEADItems {
			return nil, nil, fmt.Errorf("EAD: more than %d items", maxEADItems)
		}
		l, err := r.int()
		if err != nil {
			return nil, nil, fmt.Errorf("EAD label: %w", err)
		}
		it := EADItem{Label: l}
		if mt, err := r.peek(); err == nil && mt == mtBstr {
			v, err := r.bstr()
			if err != nil {
				return nil, nil, fmt.Errorf("EAD value: %w", err)
			}
			it.Value, it.HasValue = append([]byte{}, v...), true
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, nil, nil
	}
	return items, r.b[start:r.off:r.off], nil
}
