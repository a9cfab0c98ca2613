// Package nodes runs the lab: client, OSCORE-capable proxy, server and
// external nodes on real loopback UDP sockets, every hop relayed by a
// recording Link, and a live topology that can be edited while it runs.
//
// Map of the files:
//
//	lab.go, topology.go   Lab, Load/Apply (live diff), State, Nodes, links by node pair
//	node.go, conns.go     one server per node (udpserver: go-coap connections, O(1) duplicate
//	                      detection; catch-all handler, block-wise off), client sockets
//	                      pooled per destination, one exchange per socket at a time
//	link.go, link_faults.go  the UDP relay: per-source sockets, datagram events, faults, replay
//	header.go, registry.go   CoAP header parsing and (link, token|MID) -> exchange correlation
//	incoming.go           draft-ietf-core-oscore-capable-proxies 2.4, steps 1 to 6, one method each
//	outgoing.go           forwarding (2.3), Hop-Limit (RFC 8768 3, draft 3), per-leg tokens
//	respond.go            responses and errors with the removed layers in reverse order (2.5)
//	resources.go          the server's resources (/alarm_status, /hello, /echo, /counter, /large)
//	observe.go            Observe (RFC 7641, RFC 8613 4.1.3.5) at clients, servers and proxies
//	plan.go, client.go    a scenario step turned into a request, its layers (2.3) and response (2.6)
//	events.go, exchange.go trace events and per-exchange pins and layer stacks
//	ids.go                unpinned tokens and MIDs, seeded by the scenario name (reproducible runs)
//	tracefile.go          Lab.Trace: the run as a trace file (docs/trace-format.md)
//	groupproxy.go         a proxy forwarding to a group (draft-ietf-core-groupcomm-proxy 5.2, 5.4, 8)
//	groupviaproxy.go      the client of a group request through a proxy (5.1, 5.5)
//	replyfrom.go          the Reply-From option's CBOR (its section 3)
package nodes
