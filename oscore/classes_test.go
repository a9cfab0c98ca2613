package oscore

import (
	"os"
	"os/exec"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
)

// TestOptionClasses checks the registry against RFC 8613 Figure 5, RFC 9175,
// RFC 9668 and draft section 3 (Hop-Limit U).
func TestOptionClasses(t *testing.T) {
	want := map[uint16]Class{
		1: ClassE, 3: ClassU, 4: ClassE, 5: ClassE, 6: ClassE | ClassU, 7: ClassU, 8: ClassE, 9: ClassU,
		11: ClassE, 12: ClassE, 14: ClassE | ClassU, 15: ClassE, 16: ClassU, 17: ClassE, 20: ClassE,
		21: ClassU, 23: ClassE | ClassU, 27: ClassE | ClassU, 28: ClassE | ClassU, 35: ClassU, 39: ClassU,
		60: ClassE | ClassU, 252: ClassE | ClassU, 258: ClassE | ClassU, 292: ClassE | ClassU,
		OptProxyCRI: ClassU, OptProxySchemeNumber: ClassU, OptMulticastTimeout: ClassU, OptReplyFrom: ClassU,
	}
	for num, cl := range want {
		d, ok := LookupOption(num)
		if !ok || d.Class != cl {
			t.Errorf("%d (%s): class %v, want %v", num, d.Name, d.Class, cl)
		}
	}
	if _, ok := LookupOption(65000); ok || originalClass(65000) != ClassE || OptionName(65000) != "Option 65000" {
		t.Error("unknown option must be unrecognised and Class E")
	}
	if d, _ := LookupOption(OptProxyCRI); !d.Provisional || !d.Critical {
		t.Errorf("Proxy-Cri %+v", d)
	}
	// draft-ietf-core-groupcomm-proxy 2, 3: Multicast-Timeout elective and
	// unsafe, Reply-From elective and safe, neither repeatable.
	if d, _ := LookupOption(OptMulticastTimeout); !d.Provisional || d.Critical || !d.Unsafe || d.Repeatable || d.MaxLen != 4 {
		t.Errorf("Multicast-Timeout %+v", d)
	}
	if d, _ := LookupOption(OptReplyFrom); !d.Provisional || d.Critical || d.Unsafe || d.Repeatable || d.MinLen != 5 || d.MaxLen != 1034 {
		t.Errorf("Reply-From %+v", d)
	}
	if d, _ := LookupOption(OptOSCORE); !d.Critical || d.Unsafe || d.NoCacheKey || d.MaxLen != 255 {
		t.Errorf("OSCORE properties %+v", d)
	}
	if d, _ := LookupOption(OptSize1); !d.NoCacheKey {
		t.Error("Size1 is NoCacheKey")
	}
	for c, s := range map[Class]string{ClassE: "E", ClassU: "U", ClassI: "I", ClassE | ClassU: "E+U", 0: "-"} {
		if c.String() != s {
			t.Errorf("%d: %q", c, c.String())
		}
	}
	prev := uint16(0)
	for _, d := range Options() {
		if d.Number <= prev && prev != 0 {
			t.Fatal("Options() not sorted")
		}
		prev = d.Number
	}
}

// TestImportLeavesGoCoapOptionsAlone: importing the package does not touch
// go-coap's option table; only RegisterGoCoapOptions does. The check runs in
// a fresh process of this test binary, where no test has registered yet.
func TestImportLeavesGoCoapOptionsAlone(t *testing.T) {
	if os.Getenv("OSCORE_IMPORT_PROBE") == "1" {
		if _, ok := message.CoapOptionDefs[message.OptionID(OptOSCORE)]; ok {
			t.Fatal("option 9 is in go-coap's table before RegisterGoCoapOptions")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportLeavesGoCoapOptionsAlone$", "-test.count=1")
	cmd.Env = append(os.Environ(), "OSCORE_IMPORT_PROBE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestRegisterGoCoapOptions: the critical options go-coap does not know are
// registered, so its servers pass them to handlers (stack-notes 2.4).
func TestRegisterGoCoapOptions(t *testing.T) {
	RegisterGoCoapOptions()
	for _, n := range []uint16{OptOSCORE, OptEDHOC, OptProxyCRI, OptProxySchemeNumber, OptURIPathAbbrev} {
		if _, ok := message.CoapOptionDefs[message.OptionID(n)]; !ok {
			t.Errorf("%s (%d) not registered", OptionName(n), n)
		}
	}
	if d := message.CoapOptionDefs[message.OptionID(OptOSCORE)]; d.MaxLen != 255 || d.ValueFormat != message.ValueOpaque {
		t.Errorf("OSCORE def %+v", d)
	}
	// A decoded OSCORE option survives go-coap's decoder.
	v := loadVectors(t)
	m := decodeDatagram(t, unhex(t, v.Requests[2].Protected))
	if got, _ := findOption(m.Options, OptOSCORE); Hex(got).String() != v.Requests[2].OptionValue {
		t.Fatalf("OSCORE option after decode: %x", got)
	}
}
