package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// TestMutatedBuiltinsAreRefusedCleanly changes one value of a built-in at a
// time (every string, number, boolean and array element in turn) and
// parses the result. Whatever the change, Parse must not panic, and a
// refusal must be a *Error that names a field.
func TestMutatedBuiltinsAreRefusedCleanly(t *testing.T) {
	replacements := []any{"", "zz", "Ω", -1.0, 1e12, true, nil, []any{}, map[string]any{}}
	parsed, refused := 0, 0
	for _, s := range List() {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		n := 0
		for site := range leaves(doc) {
			n++
			repl := replacements[n%len(replacements)]
			restore := site.set(repl)
			mutated, err := json.Marshal(doc)
			restore()
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(mutated)
			parsed++
			if err == nil {
				continue
			}
			refused++
			var se *Error
			if !errors.As(err, &se) || se.Path == "" {
				t.Errorf("%s: setting %s to %v: %v is not a *Error with a path", s.Name, site.path, repl, err)
			}
		}
	}
	t.Logf("%d mutations, %d refused", parsed, refused)
	if refused == 0 || refused == parsed {
		t.Fatalf("%d of %d mutations refused: the test is not exercising validation", refused, parsed)
	}
}

type leafSite struct {
	path string
	set  func(v any) (restore func())
}

// leaves yields every scalar and every array element of a decoded JSON tree.
func leaves(doc any) func(yield func(leafSite) bool) {
	return func(yield func(leafSite) bool) {
		var walk func(v any, path string) bool
		walk = func(v any, path string) bool {
			switch x := v.(type) {
			case map[string]any:
				for k, child := range x {
					p := path + "." + k
					if isScalar(child) {
						if !yield(leafSite{p, func(nv any) func() {
							old := x[k]
							x[k] = nv
							return func() { x[k] = old }
						}}) {
							return false
						}
					} else if !walk(child, p) {
						return false
					}
				}
			case []any:
				for i, child := range x {
					p := fmt.Sprintf("%s[%d]", path, i)
					if !yield(leafSite{p, func(nv any) func() {
						old := x[i]
						x[i] = nv
						return func() { x[i] = old }
					}}) {
						return false
					}
					if !isScalar(child) && !walk(child, p) {
						return false
					}
				}
			}
			return true
		}
		walk(doc, "")
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}
