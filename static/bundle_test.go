package static

import (
	"strings"
	"testing"
)

func TestBundleHasEveryModuleOnce(t *testing.T) {
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Modules() {
		if n := strings.Count(b, "// ---- "+m+"\n"); n != 1 {
			t.Errorf("%s appears %d times in the bundle", m, n)
		}
	}
	if strings.Contains(b, "\nimport ") || strings.Contains(b, "\nexport ") {
		t.Error("the bundle still has import or export lines")
	}
	if i, j := strings.Index(b, "// ---- js/util.js"), strings.Index(b, "// ---- js/app.js"); i < 0 || j < i {
		t.Error("app.js comes before its dependency util.js")
	}
}
