package group_test

import (
	"bytes"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// Example: a client sends one group-mode request to two servers; each
// answers in pairwise mode, and the client accepts both responses of the
// one exchange.
func Example() {
	gid := []byte{0x44, 0x61, 0x6c}
	common := group.Params{
		MasterSecret: []byte("0123456789abcdef"), MasterSalt: []byte{0x9e, 0x7c}, GroupID: gid,
		GroupEnc: oscore.AESCCM16_64_128, Sig: group.EdDSA,
		AEAD: oscore.AESCCM16_64_128, KeyAgreement: group.ECDHSSHKDF256,
		GMCred: []byte{0xa0}, // the Group Manager's credential, as it gave it
	}
	type member struct {
		id   []byte
		key  *group.PrivateKey
		cred []byte
		ctx  *group.Context
	}
	var members []*member
	for i, id := range []byte{0x25, 0x52, 0x77} {
		k, _ := group.NewEd25519Key(bytes.Repeat([]byte{byte(i + 1)}, 32))
		cred, _ := group.MakeCCS(fmt.Sprintf("member %x", id), k.Public())
		members = append(members, &member{id: []byte{id}, key: k, cred: cred})
	}
	for _, m := range members {
		p := common
		p.SenderID, p.SenderKey, p.SenderCred = m.id, m.key, m.cred
		m.ctx, _ = group.NewContext(fmt.Sprintf("member %x", m.id), p)
		for _, peer := range members {
			if peer != m {
				m.ctx.AddRecipient(peer.id, peer.cred)
			}
		}
	}
	client, servers := members[0], members[1:]

	req := message.Message{Code: codes.GET, Token: message.Token{1}, Type: message.NonConfirmable}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	protected, exchange, _, err := group.ProtectRequest(client.ctx, req, group.ProtectOptions{Mode: group.GroupMode})
	if err != nil {
		panic(err)
	}
	for _, s := range servers {
		lookup := func(gid []byte) (*group.Context, error) { return s.ctx, nil }
		got, sx, _, err := group.UnprotectRequest(protected, lookup)
		if err != nil {
			panic(err)
		}
		resp := message.Message{Code: codes.Content, Token: got.Token, Payload: []byte("21.5 from " + s.ctx.Name())}
		out, _, err := group.ProtectResponse(sx, resp, group.ProtectOptions{Mode: group.PairwiseMode})
		if err != nil {
			panic(err)
		}
		back, rep, err := group.UnprotectResponse(exchange, out)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %s, %s\n", rep.Complete().Option, rep.Group.Mode, back.Payload)
	}
	fmt.Println("responses accepted:", exchange.Responses())
	// Output:
	// [kid:52]: pairwise, 21.5 from member 52
	// [kid:77]: pairwise, 21.5 from member 77
	// responses accepted: 2
}
