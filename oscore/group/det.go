package group

// detRequest is what an exchange keeps of a deterministic request
// (draft-ietf-core-cacheable-oscore): the Class I options its responses
// authenticate (the Request-Hash).
type detRequest struct {
	hash   []byte
	classI []byte
}
