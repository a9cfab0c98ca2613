package static

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

var (
	importLine = regexp.MustCompile(`^import \{[^}]*\} from '\./([a-z0-9_-]+\.js)';$`)
	topLevel   = regexp.MustCompile(`(?m)^(?:export )?(?:async )?(?:function\*?|const|let|class) ([A-Za-z_$][A-Za-z0-9_$]*)`)
)

// Bundle joins the ES modules reachable from js/app.js into one module
// script, dependencies first, with import lines and export keywords removed,
// so that a self-contained HTML file can inline the viewer. It keeps the
// modules honest about what that needs: single-line named imports of
// sibling modules, no top-level name declared twice, no "</script".
func Bundle() (string, error) {
	var (
		order []string
		state = map[string]int{} // 1 visiting, 2 done
		body  = map[string]string{}
	)
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("static: import cycle through %s", name)
		case 2:
			return nil
		}
		state[name] = 1
		src, err := FS.ReadFile(path.Join("js", name))
		if err != nil {
			return fmt.Errorf("static: %v", err)
		}
		var out strings.Builder
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(line, "import ") {
				m := importLine.FindStringSubmatch(line)
				if m == nil {
					return fmt.Errorf("static: js/%s:%d: cannot bundle %q (use: import { a, b } from './x.js';)", name, i+1, line)
				}
				if err := visit(m[1]); err != nil {
					return err
				}
				continue
			}
			out.WriteString(strings.TrimPrefix(line, "export "))
			out.WriteByte('\n')
		}
		state[name] = 2
		body[name] = out.String()
		order = append(order, name)
		return nil
	}
	if err := visit("app.js"); err != nil {
		return "", err
	}
	seen := map[string]string{}
	var all strings.Builder
	for _, name := range order {
		for _, m := range topLevel.FindAllStringSubmatch(body[name], -1) {
			if prev, dup := seen[m[1]]; dup {
				return "", fmt.Errorf("static: js/%s and js/%s both declare %s at top level; rename one so the bundle stays valid", prev, name, m[1])
			}
			seen[m[1]] = name
		}
		fmt.Fprintf(&all, "// ---- js/%s\n%s", name, body[name])
	}
	if strings.Contains(strings.ToLower(all.String()), "</script") {
		return "", fmt.Errorf("static: a module contains \"</script\", which would end an inline script")
	}
	return all.String(), nil
}
