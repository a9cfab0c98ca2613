package trace

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"oscore-lab/oscore"
)

// wiresharkAlg is the one algorithm Wireshark's OSCORE dissector knows, as
// the label its oscore_contexts UAT stores (packet-oscore.c).
const wiresharkAlg = "AES-CCM-16-64-128 (CCM*)"

// WiresharkRow is one row of Wireshark's oscore_contexts table, written
// from the side that sends requests (Wireshark finds the row whose Sender
// ID equals the request's kid).
type WiresharkRow struct {
	Context                          string
	SenderID, RecipientID            oscore.Hex
	MasterSecret, MasterSalt, IDCtxt oscore.Hex
}

// Line is the row in UAT syntax: "sender","recipient","secret","salt",
// "id context","algorithm", hex strings quoted.
func (r WiresharkRow) Line() string {
	return fmt.Sprintf("%q,%q,%q,%q,%q,%q", r.SenderID.String(), r.RecipientID.String(),
		r.MasterSecret.String(), r.MasterSalt.String(), r.IDCtxt.String(), wiresharkAlg)
}

// WiresharkRows lists the contexts Wireshark can use and says why the others
// cannot be listed: only AES-CCM-16-64-128 (alg 10) with HKDF SHA-256 is
// supported, the secret must be in the trace (redacted secrets are left out
// unless includeSecrets; the RFC 8613 demo secret always counts), and the
// context needs an endpoint that sends requests. One row per context:
// a context whose Sender ID and ID Context an earlier row has already is
// left out (the same context listed twice, or one Wireshark could not tell
// apart).
func WiresharkRows(t *Trace, includeSecrets bool) (rows []WiresharkRow, skipped []string) {
	if t == nil {
		return nil, nil
	}
	requester := requestSenders(t)
	listed := map[string]int{} // Sender ID / ID Context -> index in rows
	for _, c := range t.Contexts {
		switch {
		case c.Alg != int(oscore.AESCCM16_64_128):
			skipped = append(skipped, fmt.Sprintf("%s: algorithm %s; Wireshark only decrypts AES-CCM-16-64-128 (10)", c.Name, oscore.AEADAlg(c.Alg)))
			continue
		case c.HKDF != "" && c.HKDF != oscore.HKDFSHA256.String():
			skipped = append(skipped, fmt.Sprintf("%s: HKDF %s; Wireshark only derives with SHA-256", c.Name, c.HKDF))
			continue
		case c.MasterSecret == nil:
			skipped = append(skipped, fmt.Sprintf("%s: master secret redacted in this trace", c.Name))
			continue
		case !includeSecrets && !IsDemoSecret(c.MasterSecret):
			skipped = append(skipped, fmt.Sprintf("%s: master secret withheld (export with secrets to list it)", c.Name))
			continue
		}
		ep, ok := clientEndpoint(t, c, requester[c.Name])
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s: no endpoints", c.Name))
			continue
		}
		row := WiresharkRow{
			Context: c.Name, SenderID: ep.SenderID, RecipientID: ep.RecipientID,
			MasterSecret: oscore.Hex(c.MasterSecret), MasterSalt: c.MasterSalt, IDCtxt: oscore.Hex(c.IDContext),
		}
		// Wireshark takes the first row whose Sender ID (and ID Context)
		// a request's kid names; a second one would never be used.
		key := row.SenderID.String() + "/" + row.IDCtxt.String()
		if first, ok := listed[key]; ok {
			if rows[first].Line() == row.Line() {
				skipped = append(skipped, fmt.Sprintf("%s: the same row as %s", c.Name, rows[first].Context))
			} else {
				skipped = append(skipped, fmt.Sprintf("%s: Sender ID %s and ID Context %s as %s, whose row Wireshark would use", c.Name, hexOrEmpty(row.SenderID), hexOrEmpty(row.IDCtxt), rows[first].Context))
			}
			continue
		}
		listed[key] = len(rows)
		rows = append(rows, row)
	}
	return rows, skipped
}

// requestSenders maps a context name to the node that protected a request
// with it, from the layer-applied events.
func requestSenders(t *Trace) map[string]string {
	out := map[string]string{}
	for _, e := range t.Events {
		if l := e.Layer_; e.Type == TypeLayer && l != nil && l.Action == LayerApplied && l.Report != nil &&
			l.Report.Message == DirRequest && out[l.Report.Context] == "" {
			out[l.Report.Context] = e.Node
		}
	}
	return out
}

var roleRank = map[string]int{"client": 0, "proxy": 1, "external": 2, "server": 3}

// clientEndpoint picks the endpoint that sends requests: the one seen doing
// so in the trace, else the most client-like role, else the first.
func clientEndpoint(t *Trace, c ContextInfo, requester string) (Endpoint, bool) {
	if len(c.Endpoints) == 0 {
		return Endpoint{}, false
	}
	for _, ep := range c.Endpoints {
		if ep.Node == requester && requester != "" {
			return ep, true
		}
	}
	roles := map[string]string{}
	for _, n := range t.Nodes {
		roles[n.ID] = n.Role
	}
	eps := append([]Endpoint(nil), c.Endpoints...)
	sort.SliceStable(eps, func(i, j int) bool {
		ri, ok := roleRank[roles[eps[i].Node]]
		if !ok {
			ri = len(roleRank)
		}
		rj, ok := roleRank[roles[eps[j].Node]]
		if !ok {
			rj = len(roleRank)
		}
		return ri < rj
	})
	return eps[0], true
}

// WriteWiresharkContexts writes Wireshark's oscore_contexts file (for a
// profile directory, e.g. ~/.config/wireshark/profiles/oscore-lab/): a
// comment header, then one row per context Wireshark can use. It returns why
// the other contexts were left out; the reasons are also written as
// comments. Wireshark decrypts only the outer OSCORE layer of each hop:
// inner layers are beyond it.
func WriteWiresharkContexts(w io.Writer, t *Trace, includeSecrets bool) ([]string, error) {
	rows, skipped := WiresharkRows(t, includeSecrets)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Wireshark OSCORE security contexts written by oscore-lab (UAT file oscore_contexts).")
	fmt.Fprintln(bw, "# Columns: Sender ID, Recipient ID, Master Secret, Master Salt, ID Context, Algorithm.")
	fmt.Fprintln(bw, "# Wireshark decrypts only the outer OSCORE layer of each hop; inner layers are beyond it.")
	for _, s := range skipped {
		// A context name from a trace file may hold a line break, which
		// would start a row of the file.
		fmt.Fprintf(bw, "# not listed: %s\n", oneLine.Replace(s))
	}
	for _, r := range rows {
		fmt.Fprintln(bw, r.Line())
	}
	if err := bw.Flush(); err != nil {
		return skipped, fmt.Errorf("trace: writing Wireshark contexts: %w", err)
	}
	return skipped, nil
}

var oneLine = strings.NewReplacer("\n", " ", "\r", " ")

// TsharkCommand is the one-line shell command that dissects pcapPath with
// the trace's contexts given inline (one -o per row), so the outer layer of
// each hop is decrypted. It is empty when no context can be listed.
func TsharkCommand(pcapPath string, t *Trace, includeSecrets bool) string {
	rows, _ := WiresharkRows(t, includeSecrets)
	if len(rows) == 0 {
		return ""
	}
	parts := []string{"tshark", "-r", shellQuote(pcapPath)}
	for _, r := range rows {
		parts = append(parts, "-o", shellQuote("uat:oscore_contexts:"+r.Line()))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
