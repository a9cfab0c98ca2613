package nodes

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// builtin is one resource every server can serve.
type builtin func(s *serverApp, req *message.Message) message.Message

var builtins = map[string]builtin{
	// The draft's examples (appendix B, after RFC 8613 A.1) read "0".
	"alarm_status": func(_ *serverApp, req *message.Message) message.Message {
		return getOnly(req, []byte("0"))
	},
	// RFC 8613 C.7: 2.05 "Hello World!" without Content-Format.
	"hello": func(_ *serverApp, req *message.Message) message.Message {
		return getOnly(req, []byte("Hello World!"))
	},
	"echo": func(_ *serverApp, req *message.Message) message.Message {
		if req.Code != codes.POST && req.Code != codes.PUT && req.Code != codes.FETCH {
			return message.Message{Code: codes.MethodNotAllowed}
		}
		return message.Message{Code: codes.Changed, Payload: append([]byte(nil), req.Payload...)}
	},
	"counter": func(s *serverApp, req *message.Message) message.Message {
		return getOnly(req, []byte(strconv.FormatUint(s.counter.Load(), 10)))
	},
	"large": func(_ *serverApp, req *message.Message) message.Message {
		if req.Code != codes.GET && req.Code != codes.FETCH {
			return message.Message{Code: codes.MethodNotAllowed}
		}
		return block2Slice(req, largeBody)
	},
}

// largeBody is 4 KiB of readable text, served with inner Block2.
var largeBody = func() []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 4096; i++ {
		fmt.Fprintf(&b, "line %03d of the oscore-lab large resource, served in blocks\n", i)
	}
	return b.Bytes()[:4096]
}()

func getOnly(req *message.Message, payload []byte) message.Message {
	if req.Code != codes.GET && req.Code != codes.FETCH {
		return message.Message{Code: codes.MethodNotAllowed}
	}
	return message.Message{Code: codes.Content, Payload: payload}
}

// block2Slice serves one block of body (RFC 7959 2.2): the block the request
// asks for, 1024 bytes by default. Inside OSCORE, Block2 is an inner option
// (RFC 8613 4.1.3.4.1), so blocks are end-to-end.
func block2Slice(req *message.Message, body []byte) message.Message {
	num, szx := uint32(0), uint32(6)
	if v, err := req.Options.GetUint32(optBlock2); err == nil {
		num, szx = v>>4, min(v&7, 6)
	}
	size := uint32(16) << szx
	start := num * size
	if int(start) >= len(body) {
		return message.Message{Code: codes.BadOption, Payload: []byte("Block out of range")}
	}
	end := min(int(start+size), len(body))
	more := uint32(0)
	if end < len(body) {
		more = 1
	}
	var opts message.Options
	opts, _, _ = opts.SetUint32(make([]byte, 4), optBlock2, num<<4|more<<3|szx)
	opts, _, _ = opts.SetUint32(make([]byte, 4), 28, uint32(len(body))) // Size2
	return message.Message{Code: codes.Content, Options: opts, Payload: append([]byte(nil), body[start:end]...)}
}

// serverApp is the application state of a server node.
type serverApp struct {
	counter atomic.Uint64
}

// resourceFor resolves a path against the node's resource list.
func resourceFor(cfg *scenario.Node, path string) (builtin, string, bool) {
	plain := false
	for _, r := range cfg.Resources {
		res, err := scenario.ParseResource(r)
		if err != nil {
			continue
		}
		if !res.IsText && res.Path == res.Target {
			plain = true
		}
		if res.Path != path {
			continue
		}
		if res.IsText {
			text := []byte(res.Text)
			return func(_ *serverApp, req *message.Message) message.Message { return getOnly(req, text) }, res.Path, true
		}
		if b, ok := builtins[res.Target]; ok {
			return b, res.Target, true
		}
	}
	if plain {
		return nil, "", false
	}
	b, ok := builtins[path]
	return b, path, ok
}

// deliver hands the request to the application (draft 2.4 step 5). The
// answer is an ordinary CoAP response, protected like any other on the way
// out (RFC 8613 8.3).
func (in *incoming) deliver(segs []string) *reply {
	path := strings.Join(segs, "/")
	method := in.req.Code.String()
	res, name, ok := resourceFor(in.cfg, path)
	var resp message.Message
	if isEDHOCRequest(&in.req) {
		resp = in.n.edhocRespond(in.at, in.req.Payload)
	} else if !ok {
		resp = message.Message{Code: codes.NotFound}
	} else if in.req.Options.HasOption(optObserve) && name == "counter" {
		resp = in.n.observe(in, res)
	} else {
		resp = res(&in.n.app, &in.req)
	}
	in.n.delivery(in.at, trace.DirRequest, "/"+path, method, resp.Code, in.req.Payload)
	return &reply{msg: resp}
}
