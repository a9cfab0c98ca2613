package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// docShotsEnv names the environment variable that makes
// TestBrowserDocScreenshots write its pictures into docs/img/ (docs/teaching.md):
//
//	OSCORE_LAB_DOC_SCREENSHOTS=1 go test -count=1 -run TestBrowserDocScreenshots ./web/
//
// Without it the pictures go to artifacts/ like every other screenshot.
const docShotsEnv = "OSCORE_LAB_DOC_SCREENSHOTS"

// docShot captures the 1280x720 viewport as a PNG named name, in docs/img/
// when docShotsEnv is set, else in artifacts/.
func docShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
		t.Fatalf("%s: %d bytes, not a picture of the page", name, len(png))
	}
	dir := filepath.Join("..", "artifacts")
	if os.Getenv(docShotsEnv) != "" {
		dir = filepath.Join("..", "docs", "img")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserDocScreenshots takes the pictures docs/teaching.md shows, on
// draft-b6 at 1280x720: the lab view replaying, the packet list, the
// presenter's stage on the second hop and the stage with a quiz question
// answered.
func TestBrowserDocScreenshots(t *testing.T) {
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	ctx := labAt(t, tl, 1280, 720)
	stageOn := `[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ') === `

	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
	key(t, ctx, kb.PageDown)
	key(t, ctx, kb.PageDown)
	waitJS(t, ctx, "P1 → P2 in the inspector", `(document.querySelector('[data-testid="insp-summary"]')?.textContent || '').startsWith('P1 → P2')`)
	docShot(t, ctx, "lab-replay-draft-b6.png")
	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
	waitJS(t, ctx, "replay off", `!oscoreLab.replay.active`)

	// The packet list in place of the diagram, the P1 → P2 request open.
	run(t, ctx, chromedp.Click(`[data-testid="packets-toggle"]`))
	waitJS(t, ctx, "the packet list", `document.querySelector('[data-testid="pk-row"][data-type="datagram"]')`)
	evalJS[bool](t, ctx, `(() => { const seq = oscoreLab.store.rows.find((r) => r.from === 'P1' && r.to === 'P2').seq; document.querySelector('[data-testid="pk-row"][data-seq="' + seq + '"]').click(); return true; })()`)
	waitJS(t, ctx, "the packet's fields", `!document.querySelector('[data-testid="pk-detail"] .hint')`)
	docShot(t, ctx, "packets-draft-b6.png")
	run(t, ctx, chromedp.Click(`[data-testid="packets-close"]`), chromedp.Click(`[data-testid="replay-toggle"]`))
	key(t, ctx, kb.PageDown)
	key(t, ctx, kb.PageDown)

	run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
	waitJS(t, ctx, "the stage on P1 → P2", stageOn+`'CTX_P1_P2 CTX_C_S'`)
	docShot(t, ctx, "stage-draft-b6.png")

	run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
	key(t, ctx, "r")
	for i := 0; i < 14 && !evalJS[bool](t, ctx, `document.body.classList.contains('quiz-pending')`); i++ {
		key(t, ctx, kb.PageDown)
	}
	waitJS(t, ctx, "a question", `document.body.classList.contains('quiz-pending')`)
	key(t, ctx, kb.PageDown)
	waitJS(t, ctx, "the reveal", `document.querySelector('[data-testid="quiz-why"]')`)
	docShot(t, ctx, "stage-quiz-draft-b6.png")
}
