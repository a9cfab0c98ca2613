package trace

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"oscore-lab/oscore"
)

const optOSCORE = 9 // RFC 8613 2

// optionTexts renders options the way the draft's figures do:
// `Uri-Host "example.com"`, `OSCORE [kid:5f, piv:2a]`, `OSCORE -`.
func optionTexts(opts []Option) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		out = append(out, OptionText(o))
	}
	return out
}

// OptionText renders one option with its registered name and a value in the
// option's format (RFC 7252 3.2); the OSCORE option is decoded (RFC 8613
// 6.1) and a malformed one says why.
func OptionText(o Option) string {
	name := oscore.OptionName(o.Number)
	if o.Number == optOSCORE {
		v, err := oscore.ParseOption(o.Value)
		if err != nil {
			return fmt.Sprintf("%s 0x%x (malformed: %v)", name, o.Value, err)
		}
		return name + " " + v.String()
	}
	format := "opaque"
	if d, ok := oscore.LookupOption(o.Number); ok {
		format = d.Format
	}
	switch {
	case format == "string":
		return name + " " + strconv.Quote(string(o.Value))
	case format == "uint" && len(o.Value) <= 8:
		var buf [8]byte
		copy(buf[8-len(o.Value):], o.Value)
		return name + " " + strconv.FormatUint(binary.BigEndian.Uint64(buf[:]), 10)
	case len(o.Value) == 0:
		return name + " -"
	}
	return fmt.Sprintf("%s 0x%x", name, o.Value)
}

// payloadText is `0xff, "text"` for printable UTF-8, `0xff, 0x…` otherwise,
// and "" when there is no payload.
func payloadText(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	return "0xff, " + bytesText(p)
}

// bytesText quotes printable UTF-8 and shows anything else as hex.
func bytesText(p []byte) string {
	if printable(p) {
		return strconv.Quote(string(p))
	}
	return fmt.Sprintf("0x%x", p)
}

func printable(p []byte) bool {
	if !utf8.Valid(p) {
		return false
	}
	for _, r := range string(p) {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

func joinParts(parts []string, tail ...string) string {
	for _, t := range tail {
		if t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, ", ")
}
