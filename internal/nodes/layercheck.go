package nodes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
)

// unprotectedError reports whether a response may lack layers its receiver
// added: only an error response (class 4 or 5). An OSCORE error is sent
// without the layer that failed (RFC 8613 8.2), and an error of the
// draft's section 2.4 carries only the layers removed before it (draft
// 2.5); anything else must carry every layer (RFC 8613 8.4, draft 2.6).
func unprotectedError(c codes.Code) bool {
	class := uint8(c) >> 5
	return class == 4 || class == 5
}

// missingLayers judges a response that ran out of OSCORE options with the
// layers in missing (innermost first) still expected. An error response is
// accepted as what it is, an answer nobody authenticated; any other
// response is refused with an error and never delivered: it is either
// forged by an on-path attacker who stripped the layers or answered by a
// node that does not hold the context (RFC 8613 8.4, draft 2.6).
func (n *node) missingLayers(at where, code codes.Code, missing []string, removed, added int) error {
	names := strings.Join(missing, ", ")
	what := "layer"
	if len(missing) > 1 {
		what = "layers"
	}
	if unprotectedError(code) {
		n.decision(at, trace.RuleResponse, "", "RFC 8613 8.2; draft 2.5",
			fmt.Sprintf("Error response %s carries no OSCORE option: %d of %d layers removed; accepted as an error nobody authenticated (no %s)", codeText(code), removed, added, names), 0)
		return nil
	}
	n.decision(at, trace.RuleResponse, "", "RFC 8613 8.4; draft 2.6",
		fmt.Sprintf("Response %s lacks %s %s that %s added: refused, not delivered", codeText(code), what, names, n.id), 0)
	return fmt.Errorf("nodes: response %s lacks the OSCORE %s %s that %s added to the request: %w (RFC 8613 8.4, draft 2.6)", codeText(code), what, names, n.id, errRefused)
}

// errRefused marks an exchange whose response the client refused.
var errRefused = errors.New("refused")

// layerNames lists the contexts of layers, innermost first.
func layerNames(layers []clientLayer) []string {
	names := make([]string, len(layers))
	for i, ly := range layers {
		names[i] = ly.name
	}
	return names
}
