package oscore

import (
	"encoding/hex"
	"fmt"
)

// Hex is a byte string that marshals to lowercase hex in JSON and text, so
// reports and traces show the bytes exactly as the RFCs print them.
type Hex []byte

// String returns the lowercase hex form; an empty or nil value is "".
func (h Hex) String() string { return hex.EncodeToString(h) }

// MarshalText implements encoding.TextMarshaler.
func (h Hex) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(h)))
	hex.Encode(out, h)
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts upper and
// lower case and rejects odd lengths.
func (h *Hex) UnmarshalText(b []byte) error {
	out := make([]byte, hex.DecodedLen(len(b)))
	if _, err := hex.Decode(out, b); err != nil {
		return fmt.Errorf("oscore: bad hex %q: %w", b, err)
	}
	*h = out
	return nil
}

// ParseHex decodes a hex string; it is a convenience for tests and configs.
func ParseHex(s string) (Hex, error) {
	var h Hex
	if err := h.UnmarshalText([]byte(s)); err != nil {
		return nil, err
	}
	return h, nil
}
