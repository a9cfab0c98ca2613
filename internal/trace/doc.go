// Package trace is the lab's event model: every datagram, layer, decision,
// delivery, error and injected fault becomes an Event on a bounded Bus that
// never blocks the nodes. It also records, imports and exports traces (JSON
// version 1, text, Mermaid, ASCII, pcapng, Wireshark contexts).
package trace
