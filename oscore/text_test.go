package oscore

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func TestFormatMessage(t *testing.T) {
	v := loadVectors(t)
	tests := []struct {
		raw  string
		want string
	}{
		{v.Requests[0].Unprotected, `GET 0x00003974 Uri-Host "localhost" Uri-Path "tv1"`},
		{v.Requests[0].Protected, `POST 0x00003974 OSCORE [kid:, piv:14] Uri-Host "localhost" payload(13) 612f1092f1776f1c1668b3825e`},
		{v.Requests[2].Protected, `POST 0xef9bbf7a OSCORE [kid:, piv:14, kidctx:37cbf3210017a2d3] Uri-Host "localhost" payload(13) 72cd7273fd331ac45cffbe55c3`},
		{v.Responses[0].Protected, `2.04 0x00003974 OSCORE - payload(22) dbaad1e9a7e7b2a813d3c31524378303cdafae119106`},
		{v.Responses[1].Protected, `2.04 0x00003974 OSCORE [piv:00] payload(22) 4d4c13669384b67354b2b6175ff4b8658c666a6cf88e`},
	}
	for _, tt := range tests {
		if got := FormatMessage(decodeDatagram(t, unhex(t, tt.raw))); got != tt.want {
			t.Errorf("\n got %s\nwant %s", got, tt.want)
		}
	}
	m := message.Message{Code: codes.POST, Token: message.Token{0x8c}, Type: message.Confirmable, MessageID: 0x5d1f}
	m.Options = m.Options.Add(message.Option{ID: optOSCORE, Value: []byte{0x09, 0x1f, 0x20}})
	m.Options = m.Options.Add(message.Option{ID: optURIHost, Value: []byte("example.com")})
	m.Options = m.Options.Add(message.Option{ID: optHopLimit, Value: []byte{16}})
	m.Options = m.Options.Add(message.Option{ID: optEDHOC, Value: nil})
	m.Options = m.Options.Add(message.Option{ID: 65000, Value: []byte{1, 2}})
	if got, want := FormatDatagram(m), `CON 0x5d1f POST 0x8c OSCORE [kid:20, piv:1f] Uri-Host "example.com" Hop-Limit 16 EDHOC Option 65000 0x0102`; got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestDecodeMessage(t *testing.T) {
	v := loadVectors(t)
	if _, err := DecodeMessage(unhex(t, v.Requests[0].Protected)); err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{
		"truncated header":    "4402",
		"OSCORE no payload":   "44025d1f00003974396c6f63616c686f7374620914",
		"bad OSCORE flags":    "44025d1f0000397492c914ff00",
		"two OSCORE options":  "44025d1f00003974920914020914ff00",
		"reserved PIV length": "44025d1f00003974920e14ff00",
	} {
		if _, err := DecodeMessage(unhex(t, raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b, err := EncodeMessage(decodeDatagram(t, unhex(t, v.Responses[1].Protected)))
	if err != nil || Hex(b).String() != v.Responses[1].Protected {
		t.Fatalf("EncodeMessage %x %v", b, err)
	}
}
