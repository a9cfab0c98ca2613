package trace

import (
	"fmt"

	"oscore-lab/oscore"
)

// layerText is one layer in the figures' brace notation.
func layerText(ctx string, code uint8, opts []Option, payload string) string {
	return "{" + ctx + ": " + joinParts(append([]string{CodeName(code)}, optionTexts(opts)...), payload) + "}"
}

// InnerText renders one layer's plaintext as the draft's figures do:
// `{CTX_C_S: GET, Uri-Path "alarm_status"}` or `{CTX_C_S: 2.05, 0xff, "0"}`
// (RFC 8613 5.3). The payload is quoted when printable, hex otherwise.
func InnerText(r *oscore.Report) string {
	if r == nil {
		return ""
	}
	code, opts, payload, err := ParsePlaintext(r.Plaintext)
	if err != nil {
		return fmt.Sprintf("{%s: malformed plaintext (%v)}", r.Context, err)
	}
	return layerText(r.Context, code, opts, payloadText(payload))
}
