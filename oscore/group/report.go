package group

import (
	"encoding/hex"

	"oscore-lab/oscore"
)

// report fills the group part of a layer's report (RFC 10021 3.3, 3.4,
// 4.1): mode, flag byte, nonce and its parts, aad_array in bytes and in
// diagnostic notation, and the key with its derivation. sender is who
// protected the message.
func (c *Context) report(in *sealInput, alg oscore.AEADAlg, optVal, nonce, arr, aad []byte, key *KeyDerivation, sender []byte, senderFP string) *oscore.GroupReport {
	g := &oscore.GroupReport{
		Mode: in.mode.String(), GroupID: c.p.GroupID, SenderID: bstr(sender), Algorithm: alg.String(),
		CommonIVLen: len(c.commonIV), AADArray: arr, AADDiag: c.aadDiag(&in.aad, senderFP), AAD: aad, ResponseNumber: -1,
	}
	if len(optVal) > 0 {
		g.FlagByte = hex.EncodeToString(optVal[:1])
	}
	n := len(nonce)
	padded := make([]byte, n)
	if n >= 6+len(in.idPIV) && len(in.piv) <= 5 {
		padded[0] = byte(len(in.idPIV))
		copy(padded[n-5-len(in.idPIV):n-5], in.idPIV)
		copy(padded[n-len(in.piv):], in.piv)
	}
	from := "request"
	if in.ownPIV {
		from = "own"
	}
	g.Nonce = oscore.NonceReport{IDPIV: bstr(in.idPIV), PaddedIDPIV: padded[:n-5], PaddedPIV: padded[n-5:],
		CommonIV: c.commonIV[:n], Nonce: nonce, PIVFrom: from}
	if key != nil {
		g.Key = oscore.KeyReport{Which: key.Label, Alg: alg.String(), Info: key.Info, InfoDiag: key.InfoDiag, Key: key.Output}
	}
	return g
}

// attach adds the group part to rep, shown once rep is completed.
func attach(rep *oscore.Report, g *oscore.GroupReport) {
	if g != nil {
		rep.SetGroup(g)
	}
}
