package scenario

import (
	"fmt"
	"sort"
	"strings"
)

// Resource is one entry of a server's resources list.
//
//	"hello"                  serve the built-in resource hello at /hello
//	"tv1=hello"              also serve the built-in hello at /tv1 (an alias)
//	"3303/0/5700=text:21.5"  serve GET /3303/0/5700 with 2.05 and payload "21.5"
//
// Plain names restrict the server to those built-ins; when the list has no
// plain name, every built-in is served, plus the aliases and text entries.
type Resource struct {
	Path   string // "tv1" or "3303/0/5700" (segments joined by "/", no leading slash)
	Target string // built-in resource name ("hello"); empty for text
	Text   string // fixed payload of a text entry
	IsText bool
}

// ParseResource reads one entry of Node.Resources.
func ParseResource(s string) (Resource, error) {
	path, target, alias := strings.Cut(s, "=")
	if err := checkResourcePath(path); err != nil {
		return Resource{}, err
	}
	if !alias {
		if strings.Contains(path, "/") {
			return Resource{}, fmt.Errorf("%q: built-in resources have one-segment names; use \"%s=NAME\" for an alias", s, path)
		}
		return Resource{Path: path, Target: path}, nil
	}
	if text, ok := strings.CutPrefix(target, "text:"); ok {
		return Resource{Path: path, Text: text, IsText: true}, nil
	}
	if err := checkResourcePath(target); err != nil || strings.Contains(target, "/") {
		return Resource{}, fmt.Errorf("%q: %q is not a built-in resource name (or use text:VALUE)", s, target)
	}
	return Resource{Path: path, Target: target}, nil
}

func checkResourcePath(p string) error {
	if p == "" {
		return fmt.Errorf("empty resource path")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			return fmt.Errorf("%q has an empty path segment (no leading, trailing or double slash)", p)
		}
		for _, r := range seg {
			if r <= ' ' || r == '=' || r == '?' || r == '#' || r == 0x7f {
				return fmt.Errorf("%q: path segments take no spaces, control characters, =, ? or #", p)
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
