package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 32

// checkShape walks the JSON document token by token against the Go type of
// a Scenario and reports, with its path, the first unknown field, duplicate
// field, value of the wrong JSON type, integer out of range or trailing data.
// encoding/json reports these without a path (or not at all), so the walk
// comes first and json.Unmarshal only runs on a document that fits.
func checkShape(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{dec: dec, data: data}
	if err := w.value(reflect.TypeFor[Scenario](), "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return w.syntax(err, "")
		}
		return errAt("", "trailing data after the scenario object")
	}
	return nil
}

type walker struct {
	dec  *json.Decoder
	data []byte
}

func (w walker) token(path string) (json.Token, error) {
	t, err := w.dec.Token()
	if err != nil {
		return nil, w.syntax(err, path)
	}
	return t, nil
}

func (w walker) syntax(err error, path string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errAt(path, "unexpected end of JSON")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errAt(path, "invalid JSON at "+w.position(se.Offset)+": "+strings.TrimPrefix(se.Error(), "json: "))
	}
	return errAt(path, "invalid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
}

// position turns the offset of a syntax error (the bytes read before the
// offending one) into "line L, column C", 1-based, counting bytes.
func (w walker) position(offset int64) string {
	offset = min(max(offset, 0), int64(len(w.data)))
	before := w.data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return "line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col)
}

// value checks the next JSON value against t.
func (w walker) value(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return errAt(path, "nested too deeply")
	}
	tok, err := w.token(path)
	if err != nil {
		return err
	}
	if tok == nil { // JSON null: only pointers, slices and maps may be null
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return nil
		}
		return errAt(path, "want "+kindName(t)+", got null")
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.scalarOrComposite(t.Elem(), tok, path, depth)
	default:
		return w.scalarOrComposite(t, tok, path, depth)
	}
}

func (w walker) scalarOrComposite(t reflect.Type, tok json.Token, path string, depth int) error {
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return errAt(path, "want an object, got "+tokenName(tok))
		}
		return w.object(path, depth, func(name, p string) error {
			f, ok := fieldByJSONName(t, name)
			if !ok {
				return errAt(p, "unknown field"+suggestField(t, name))
			}
			return w.value(f.Type, p, depth+1)
		})
	case reflect.Map:
		if tok != json.Delim('{') {
			return errAt(path, "want an object, got "+tokenName(tok))
		}
		return w.object(path, depth, func(_, p string) error {
			return w.value(t.Elem(), p, depth+1)
		})
	case reflect.Slice:
		if tok != json.Delim('[') {
			return errAt(path, "want an array, got "+tokenName(tok))
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), index(path, i), depth+1); err != nil {
				return err
			}
		}
		_, err := w.token(path) // ']'
		return err
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return errAt(path, "want a string, got "+tokenName(tok))
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return errAt(path, "want true or false, got "+tokenName(tok))
		}
	case reflect.Int, reflect.Int64, reflect.Uint16, reflect.Uint64:
		n, ok := tok.(json.Number)
		if !ok {
			return errAt(path, "want an integer, got "+tokenName(tok))
		}
		return checkInteger(t, string(n), path)
	}
	return nil
}

// object walks the members of an object whose '{' was read, refusing
// duplicate names.
func (w walker) object(path string, depth int, member func(name, path string) error) error {
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.token(path)
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		p := field(path, name)
		if seen[name] {
			return errAt(p, "duplicate field")
		}
		seen[name] = true
		if err := member(name, p); err != nil {
			return err
		}
	}
	_, err := w.token(path) // '}'
	return err
}

func checkInteger(t reflect.Type, s, path string) error {
	var err error
	switch t.Kind() {
	case reflect.Uint16:
		_, err = strconv.ParseUint(s, 10, 16)
	case reflect.Uint64:
		_, err = strconv.ParseUint(s, 10, 64)
	case reflect.Int64:
		_, err = strconv.ParseInt(s, 10, 64)
	default:
		_, err = strconv.ParseInt(s, 10, strconv.IntSize)
	}
	if err == nil {
		return nil
	}
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return errAt(path, s+" is out of range")
	}
	return errAt(path, "want an integer, got "+s)
}

// fieldByJSONName finds the struct field whose json tag is name
// (case-sensitive, unlike encoding/json, so typos are refused).
func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// jsonName is the JSON member name of a struct field ("" when not encoded).
func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "an integer"
}

func tokenName(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + string(v)
	case nil:
		return "null"
	}
	return "something else"
}

// suggestField names the known field closest to a misspelt one, if any is
// within two edits: ` (did you mean "forward"?)`.
func suggestField(t reflect.Type, name string) string {
	best, bestDist := "", 3
	for i := range t.NumField() {
		known := jsonName(t.Field(i))
		if known == "" {
			continue
		}
		if d := editDistance(strings.ToLower(name), known); d < bestDist {
			best, bestDist = known, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// editDistance is the Levenshtein distance, with a transposition counted
// as one edit (optimal string alignment), over bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
