package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestExposure: loopback needs nothing; any other address needs -expose,
// then warns and lets the page be reached by the -addr host, or by every
// address of the machine for a wildcard.
func TestExposure(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080"} {
		var warn bytes.Buffer
		if hosts, err := exposure(addr, false, &warn); err != nil || hosts != nil || warn.Len() > 0 {
			t.Errorf("%s: %v %v %q", addr, hosts, err, warn.String())
		}
	}
	var warn bytes.Buffer
	hosts, err := exposure("192.0.2.7:8080", true, &warn)
	if err != nil || !slices.Equal(hosts, []string{"192.0.2.7"}) || !strings.Contains(warn.String(), "WARNING") {
		t.Errorf("exposed 192.0.2.7: %v %v %q", hosts, err, warn.String())
	}
	warn.Reset()
	hosts, err = exposure("0.0.0.0:8080", true, &warn)
	if err != nil || !slices.Contains(hosts, "127.0.0.1") || !strings.Contains(warn.String(), "master secrets") {
		t.Errorf("exposed 0.0.0.0: %v %v %q", hosts, err, warn.String())
	}
}
