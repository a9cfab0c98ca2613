// Package nodes runs the lab: client, OSCORE-capable proxy, server and
// external nodes on real loopback UDP sockets, every hop relayed by a
// recording Link, and a live topology that can be edited while it runs.
package nodes
