package scenario

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed builtin/*.json
var builtinFS embed.FS

var builtins = sync.OnceValues(loadBuiltins)

// loadBuiltins parses every embedded scenario; the file name must match
// the scenario name. A broken built-in is a build defect, which the tests
// catch; at run time it is reported, never a panic.
func loadBuiltins() (map[string]*Scenario, error) {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		return nil, err
	}
	out := map[string]*Scenario{}
	var errs []error
	for _, e := range entries {
		data, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := Parse(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("builtin/%s: %w", e.Name(), err))
			continue
		}
		if want := strings.TrimSuffix(e.Name(), ".json"); s.Name != want {
			errs = append(errs, fmt.Errorf("builtin/%s: name %q differs from the file name", e.Name(), s.Name))
			continue
		}
		out[s.Name] = s
	}
	return out, errors.Join(errs...)
}

// Builtin returns a fresh copy of the built-in scenario name.
func Builtin(name string) (*Scenario, bool) {
	m, _ := builtins()
	s, ok := m[name]
	if !ok {
		return nil, false
	}
	return s.Clone(), true
}

// List returns copies of every built-in scenario, sorted by name.
func List() []*Scenario {
	m, _ := builtins()
	out := make([]*Scenario, 0, len(m))
	for _, name := range sortedKeys(m) {
		out = append(out, m[name].Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Load returns the built-in scenario nameOrFile, or else parses the file of
// that name.
func Load(nameOrFile string) (*Scenario, error) {
	if s, ok := Builtin(nameOrFile); ok {
		return s, nil
	}
	data, err := readLimited(nameOrFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("scenario: %q is neither a built-in scenario (see oscore-lab scenarios) nor a file", nameOrFile)
		}
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s, err := Parse(data)
	var se *Error
	if errors.As(err, &se) {
		se.File = nameOrFile
	}
	return s, err
}

// readLimited reads a scenario file, at most maxScenarioBytes+1 of it so
// that Parse refuses a larger one: a device or a pipe (/dev/zero, a FIFO)
// costs no more memory than a large file. Directories are refused by name.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	return io.ReadAll(io.LimitReader(f, maxScenarioBytes+1))
}
