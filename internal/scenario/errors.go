package scenario

import "strconv"

// Error is a refused scenario: the JSON path of the offending field and why.
type Error struct {
	File   string // set by Load for files
	Path   string // "nodes[2].role"; empty for the document as a whole
	Reason string
}

func (e *Error) Error() string {
	msg := "scenario: "
	if e.File != "" {
		msg += e.File + ": "
	}
	if e.Path != "" {
		msg += e.Path + ": "
	}
	return msg + e.Reason
}

func errAt(path, reason string) *Error { return &Error{Path: path, Reason: reason} }

// field appends a member name to a JSON path, quoting names that are not
// plain identifiers so every path reads back unambiguously.
func field(path, name string) string {
	if !plainName(name) {
		return path + "[" + strconv.Quote(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
