// Package multicast holds the wire encodings of Observe notifications sent
// as multicast responses (draft-ietf-core-observe-multicast-notifications,
// "MN" below) and of their relay by proxies
// (draft-ietf-core-multicast-notifications-proxy, "MNP"): the informative
// response's CBOR payload (MN 4.2, 11), its transport information tp_info
// (MN 4.2.1, 4.2.1.1), the transport-independent form of a message that
// ph_req and last_notif carry (MN 4.2.2), and the Listen-To-Multicast-
// Responses option (MNP 4.1). It decodes hostile input within fixed bounds
// and imports nothing of the lab; the Group OSCORE side of MN 9 is in
// oscore/group (Phantom).
package multicast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"oscore-lab/oscore/internal/cborenc"
)

// ContentFormat is the lab's number for application/informative-response+cbor.
// MN 13.2 asks for an ID in 0-255 and suggests none; until one is
// assigned the lab uses this number from the Experimental Use range
// 65000-65535 of the CoAP Content-Formats registry (RFC 7252 12.3).
const ContentFormat = 65012

// Informative response parameters (MN 11, table "Informative Response
// Parameters"). The MN 10 and MNP 7 figures write join_uri as 4 and
// sec_gp as 5; the table, which registers them, says 5 and 6, and the
// lab follows the table.
const (
	KeyTPInfo        = 0
	KeyPhReq         = 1
	KeyLastNotif     = 2
	KeyNextNotBefore = 3
	KeyEnding        = 4
	KeyJoinURI       = 5
	KeySecGp         = 6
	KeyASURI         = 7
	KeyHKDF          = 8
	KeyCredFmt       = 9
	KeyGpEncAlg      = 10
	KeySignAlg       = 11
	KeySignParams    = 12
	KeyGpMaterial    = 13
	KeySrvCred       = 14
	KeySrvIdentifier = 15
	KeyExi           = 16
	KeyExp           = 17
)

var paramNames = [...]string{"tp_info", "ph_req", "last_notif", "next_not_before", "ending", "join_uri", "sec_gp",
	"as_uri", "hkdf", "cred_fmt", "gp_enc_alg", "sign_alg", "sign_params", "gp_material", "srv_cred", "srv_identifier", "exi", "exp"}

// Limits on what a decoder accepts (docs/scenarios.md "Limits"): the
// payload of one CoAP message over UDP, and a CBOR shape no deeper or
// wider than the informative response needs.
const (
	MaxPayload     = 8192
	maxNesting     = 8
	maxArrayItems  = 128
	maxMapPairs    = 64
	maxHostLabels  = 32
	schemeCoAP     = -1 // CRI scheme-id of "coap" (scheme number 0, draft-ietf-core-href)
	defaultCoAPUDP = 5683
)

var decMode, _ = cbor.DecOptions{
	MaxNestedLevels:  maxNesting,
	MaxArrayElements: maxArrayItems,
	MaxMapPairs:      maxMapPairs,
	IndefLength:      cbor.IndefLengthForbidden,
	TagsMd:           cbor.TagsForbidden,
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
}.DecMode()

// Informative is the payload of an informative response (MN 4.2, 9.1).
// Parameters 7 to 17 and any other key are checked for their type and
// listed in Others, not interpreted.
type Informative struct {
	TPInfo        *TPInfo  // 'tp_info' (0), nil when absent
	PhReq         []byte   // 'ph_req' (1): transport-independent phantom request, nil when absent
	LastNotif     []byte   // 'last_notif' (2)
	NextNotBefore *uint64  // 'next_not_before' (3), seconds
	Ending        *float64 // 'ending' (4), POSIX time
	JoinURI       string   // 'join_uri' (5), "" when absent
	SecGp         string   // 'sec_gp' (6)
	Others        []string // names (or keys) of the other parameters present
}

// Encode returns the CBOR map, keys in ascending order (RFC 8949 4.2.1).
// Others are not encoded.
func (in Informative) Encode() ([]byte, error) {
	var b []byte
	n := 0
	body := func(key int, enc func([]byte) []byte) {
		b = enc(cborenc.AppendInt(b, key))
		n++
	}
	if in.TPInfo != nil {
		tp, err := in.TPInfo.Encode()
		if err != nil {
			return nil, err
		}
		body(KeyTPInfo, func(d []byte) []byte { return append(d, tp...) })
	}
	if in.PhReq != nil {
		body(KeyPhReq, func(d []byte) []byte { return cborenc.AppendBstr(d, in.PhReq) })
	}
	if in.LastNotif != nil {
		body(KeyLastNotif, func(d []byte) []byte { return cborenc.AppendBstr(d, in.LastNotif) })
	}
	if in.NextNotBefore != nil {
		body(KeyNextNotBefore, func(d []byte) []byte { return cborenc.AppendHead(d, 0, *in.NextNotBefore) })
	}
	if in.Ending != nil {
		e := *in.Ending
		if e != math.Trunc(e) || math.Abs(e) > 1<<53 {
			return nil, errors.New("multicast: 'ending' must be a whole number of seconds here")
		}
		body(KeyEnding, func(d []byte) []byte { return cborenc.AppendInt(d, int64(e)) })
	}
	if in.JoinURI != "" {
		body(KeyJoinURI, func(d []byte) []byte { return cborenc.AppendTstr(d, in.JoinURI) })
	}
	if in.SecGp != "" {
		body(KeySecGp, func(d []byte) []byte { return cborenc.AppendTstr(d, in.SecGp) })
	}
	out := cborenc.AppendHead(make([]byte, 0, len(b)+3), 5, uint64(n))
	if len(out)+len(b) > MaxPayload {
		return nil, fmt.Errorf("multicast: informative response of %d bytes exceeds %d", len(out)+len(b), MaxPayload)
	}
	return append(out, b...), nil
}

// DecodeInformative decodes an informative response payload (MN 4.2): a
// CBOR map with integer or text keys, the known parameters with the
// types of MN 11, no duplicate key, at most MaxPayload bytes.
func DecodeInformative(b []byte) (Informative, error) {
	var in Informative
	if len(b) > MaxPayload {
		return in, fmt.Errorf("multicast: informative response of %d bytes exceeds %d", len(b), MaxPayload)
	}
	var top map[any]cbor.RawMessage
	if err := decMode.Unmarshal(b, &top); err != nil {
		return in, fmt.Errorf("multicast: informative response is not a CBOR map: %v", err)
	}
	keys := make([]int64, 0, len(top))
	for k := range top {
		switch k := k.(type) {
		case uint64:
			if k <= math.MaxInt64 {
				keys = append(keys, int64(k))
				continue
			}
			in.Others = append(in.Others, fmt.Sprint(k))
		case int64:
			keys = append(keys, k)
		case string:
			in.Others = append(in.Others, fmt.Sprintf("%q", k))
		default:
			return in, fmt.Errorf("multicast: informative response key of type %T (MN 4.2: int or tstr)", k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		raw := top[keyOf(top, k)]
		if err := in.decodeParam(k, raw); err != nil {
			return Informative{}, err
		}
	}
	sort.Strings(in.Others)
	return in, nil
}

// keyOf finds the map key that decoded as integer k.
func keyOf(top map[any]cbor.RawMessage, k int64) any {
	if k >= 0 {
		if _, ok := top[uint64(k)]; ok {
			return uint64(k)
		}
	}
	return k
}

func (in *Informative) decodeParam(k int64, raw cbor.RawMessage) error {
	bad := func(want string) error {
		return fmt.Errorf("multicast: informative response parameter %s is not %s (MN 11)", paramName(k), want)
	}
	var err error
	switch k {
	case KeyTPInfo:
		var tp TPInfo
		if tp, err = DecodeTPInfo(raw); err != nil {
			return err
		}
		in.TPInfo = &tp
	case KeyPhReq, KeyLastNotif:
		var v []byte
		if decMode.Unmarshal(raw, &v) != nil || majorType(raw) != 2 {
			return bad("a byte string")
		}
		if k == KeyPhReq {
			in.PhReq = v
		} else {
			in.LastNotif = v
		}
	case KeyNextNotBefore:
		var v uint64
		if majorType(raw) != 0 || decMode.Unmarshal(raw, &v) != nil {
			return bad("an unsigned integer")
		}
		in.NextNotBefore = &v
	case KeyEnding, KeyExp:
		v, ok := timeValue(raw)
		if !ok {
			return bad("an integer or a float")
		}
		if k == KeyEnding {
			in.Ending = &v
		} else {
			in.Others = append(in.Others, paramName(k))
		}
	case KeyJoinURI, KeySecGp, KeyASURI:
		var v string
		if majorType(raw) != 3 || decMode.Unmarshal(raw, &v) != nil {
			return bad("a text string")
		}
		switch k {
		case KeyJoinURI:
			in.JoinURI = v
		case KeySecGp:
			in.SecGp = v
		default:
			in.Others = append(in.Others, paramName(k))
		}
	default:
		if err := checkOther(k, raw); err != nil {
			return err
		}
		in.Others = append(in.Others, paramName(k))
	}
	return nil
}

// checkOther checks the type of parameters 8 to 17 (MN 11); other keys
// may hold anything.
func checkOther(k int64, raw cbor.RawMessage) error {
	mt := majorType(raw)
	ok := true
	switch k {
	case KeyHKDF, KeyGpEncAlg, KeySignAlg:
		ok = mt == 0 || mt == 1 || mt == 3
	case KeyCredFmt:
		ok = mt == 0 || mt == 1
	case KeySignParams:
		ok = mt == 4
	case KeyGpMaterial:
		ok = mt == 5
	case KeySrvCred, KeySrvIdentifier:
		ok = mt == 2
	case KeyExi:
		ok = mt == 0
	}
	var v any
	if !ok || decMode.Unmarshal(raw, &v) != nil {
		return fmt.Errorf("multicast: informative response parameter %s has the wrong type (MN 11)", paramName(k))
	}
	return nil
}

// timeValue reads ~time: an integer or a float (RFC 8610 "time" untagged).
func timeValue(raw cbor.RawMessage) (float64, bool) {
	switch majorType(raw) {
	case 0, 1:
		var v int64
		if decMode.Unmarshal(raw, &v) != nil {
			return 0, false
		}
		return float64(v), true
	case 7:
		var v float64
		if decMode.Unmarshal(raw, &v) != nil || len(raw) < 3 || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

func majorType(raw []byte) int {
	if len(raw) == 0 {
		return -1
	}
	return int(raw[0] >> 5)
}

func paramName(k int64) string {
	if k >= 0 && k < int64(len(paramNames)) {
		return fmt.Sprintf("'%s' (%d)", paramNames[k], k)
	}
	return fmt.Sprint(k)
}

// Diag renders the payload in CBOR diagnostic notation with the
// parameters' names as comments, for the trace; byte strings longer than
// 48 bytes are shortened.
func (in Informative) Diag() string {
	var parts []string
	if in.TPInfo != nil {
		parts = append(parts, "/ tp_info / 0: "+in.TPInfo.Diag())
	}
	if in.PhReq != nil {
		parts = append(parts, "/ ph_req / 1: "+shortHex(in.PhReq))
	}
	if in.LastNotif != nil {
		parts = append(parts, "/ last_notif / 2: "+shortHex(in.LastNotif))
	}
	if in.NextNotBefore != nil {
		parts = append(parts, fmt.Sprintf("/ next_not_before / 3: %d", *in.NextNotBefore))
	}
	if in.Ending != nil {
		parts = append(parts, fmt.Sprintf("/ ending / 4: %v", *in.Ending))
	}
	if in.JoinURI != "" {
		parts = append(parts, fmt.Sprintf("/ join_uri / 5: %q", in.JoinURI))
	}
	if in.SecGp != "" {
		parts = append(parts, fmt.Sprintf("/ sec_gp / 6: %q", in.SecGp))
	}
	for _, o := range in.Others {
		parts = append(parts, o+": …")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func shortHex(b []byte) string {
	if len(b) > 48 {
		return fmt.Sprintf("h'%x…' (%d bytes)", b[:48], len(b))
	}
	return fmt.Sprintf("h'%x'", b)
}
