package scenario

import "testing"

func TestBuiltinsParse(t *testing.T) {
	m, err := builtins()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		t.Fatal("no built-ins")
	}
}
