package nodes

import (
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

type observerSet struct {
	mu sync.Mutex
}

func (o *observerSet) init()    {}
func (o *observerSet) stopAll() {}

func (n *node) observe(in *incoming, res builtin) message.Message {
	return res(&n.app, &in.req)
}

func (n *node) onUnsolicited(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {}
