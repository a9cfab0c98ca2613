package trace

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WriteJSON writes t as a version 1 trace file (docs/trace-format.md):
// the envelope indented, one node, context and event per line, so that files
// diff well and stay greppable. Secrets are redacted to fingerprints unless
// includeSecrets; the RFC 8613 Appendix C demo secret is always included.
// Format and Version are written as FormatName and FormatVersion whatever t
// holds. The output is deterministic: WriteJSON(ReadJSON(WriteJSON(t)))
// gives the same bytes.
func WriteJSON(w io.Writer, t *Trace, includeSecrets bool) error {
	if t == nil {
		return errors.New("trace: no trace to write")
	}
	r := redacted(t, includeSecrets)
	bw := bufio.NewWriter(w)
	var enc lineEncoder
	fmt.Fprintf(bw, "{\n  \"format\": %s,\n  \"version\": %d,\n", enc.line(FormatName), FormatVersion)
	if r.Creator != "" {
		fmt.Fprintf(bw, "  \"creator\": %s,\n", enc.line(r.Creator))
	}
	fmt.Fprintf(bw, "  \"scenario\": %s,\n", enc.line(r.Scenario))
	writeArray(bw, &enc, "nodes", r.Nodes, ",")
	writeArray(bw, &enc, "contexts", r.Contexts, ",")
	if len(r.Groups) > 0 {
		writeArray(bw, &enc, "groups", r.Groups, ",")
	}
	writeArray(bw, &enc, "events", r.Events, "")
	bw.WriteString("}\n")
	if enc.err != nil {
		return fmt.Errorf("trace: encoding JSON: %w", enc.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: writing JSON: %w", err)
	}
	return nil
}

func writeArray[T any](w *bufio.Writer, enc *lineEncoder, name string, items []T, after string) {
	if len(items) == 0 {
		fmt.Fprintf(w, "  %q: []%s\n", name, after)
		return
	}
	fmt.Fprintf(w, "  %q: [\n", name)
	for i, it := range items {
		sep := ","
		if i == len(items)-1 {
			sep = ""
		}
		fmt.Fprintf(w, "    %s%s\n", enc.line(it), sep)
	}
	fmt.Fprintf(w, "  ]%s\n", after)
}

// lineEncoder marshals values compactly without HTML escaping and keeps the
// first error.
type lineEncoder struct {
	buf bytes.Buffer
	err error
}

func (e *lineEncoder) line(v any) string {
	e.buf.Reset()
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if e.err == nil {
			e.err = err
		}
		return "null"
	}
	return string(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
}

// maxTraceFile bounds what ReadJSON accepts (a 100,000-event trace with
// reports is far smaller).
const maxTraceFile = 256 << 20

// ReadJSON reads a trace file back. It checks the format name and version
// before anything else, then the events, and names what is wrong.
func ReadJSON(r io.Reader) (*Trace, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTraceFile+1))
	if err != nil {
		return nil, fmt.Errorf("trace: reading trace file: %w", err)
	}
	if len(data) > maxTraceFile {
		return nil, fmt.Errorf("trace: trace file larger than %d bytes", maxTraceFile)
	}
	var head struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("trace: not a JSON trace file: %w", err)
	}
	switch {
	case head.Format == nil:
		return nil, errors.New(`trace: not an oscore-lab trace: no "format" field`)
	case *head.Format != FormatName:
		return nil, fmt.Errorf("trace: not an oscore-lab trace: format %q, want %q", *head.Format, FormatName)
	case head.Version == nil:
		return nil, errors.New(`trace: trace file has no "version" field`)
	case *head.Version > FormatVersion:
		return nil, fmt.Errorf("trace: trace file version %d is newer than this build reads (version %d)", *head.Version, FormatVersion)
	case *head.Version < 1:
		return nil, fmt.Errorf("trace: trace file version %d is not valid", *head.Version)
	}
	var t Trace
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("trace: bad trace file: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

var knownTypes = map[string]bool{
	TypeDatagram: true, TypeLayer: true, TypeDecision: true, TypeDelivery: true,
	TypeError: true, TypeFault: true, TypeExchange: true, TypeNotice: true,
}

// Validate checks what renderers rely on: known event types, each carrying
// its part, and node ids that are unique.
func (t *Trace) Validate() error {
	ids := make(map[string]bool, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.ID == "" {
			return fmt.Errorf("trace: nodes[%d]: empty id", i)
		}
		if ids[n.ID] {
			return fmt.Errorf("trace: nodes[%d]: duplicate id %q", i, n.ID)
		}
		ids[n.ID] = true
	}
	for i, c := range t.Contexts {
		if c.Name == "" {
			return fmt.Errorf("trace: contexts[%d]: empty name", i)
		}
	}
	for i, e := range t.Events {
		if err := e.validate(); err != nil {
			return fmt.Errorf("trace: events[%d] (seq %d): %w", i, e.Seq, err)
		}
	}
	return nil
}

func (e *Event) validate() error {
	if !knownTypes[e.Type] {
		return fmt.Errorf("unknown event type %q", e.Type)
	}
	missing := func(part string) error { return fmt.Errorf("%s event without %s", e.Type, part) }
	switch e.Type {
	case TypeDatagram:
		if len(e.Bytes) == 0 {
			return missing("bytes")
		}
		if e.From == "" || e.To == "" {
			return missing("from and to")
		}
	case TypeLayer:
		if e.Layer_ == nil {
			return missing("layer_event")
		}
		if a := e.Layer_.Action; a != LayerApplied && a != LayerRemoved && a != LayerFailed {
			return fmt.Errorf("layer action %q, want %q, %q or %q", a, LayerApplied, LayerRemoved, LayerFailed)
		}
	case TypeDecision:
		if e.Decision == nil {
			return missing("decision")
		}
	case TypeDelivery:
		if e.Delivery == nil {
			return missing("delivery")
		}
	case TypeError:
		if e.Error == nil {
			return missing("error")
		}
	case TypeFault:
		if e.Fault == nil {
			return missing("fault")
		}
	}
	return nil
}
