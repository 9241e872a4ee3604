package tea

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestDrawFrameDrawsOnlyChangedLines: a renderer that draws only the lines
// that changed (drawFrame) holds the same cells as one that draws every
// frame whole, and writes no more to the terminal: over frames that change
// one line, several, none or all, in colour, with wide characters, lines
// shorter than the screen and a resize. (The terminal's own screen is
// checked end to end: roost's tmux tests read it.)
func TestDrawFrameDrawsOnlyChangedLines(t *testing.T) {
	const width, height = 60, 12
	env := []string{"TERM=xterm-256color"}
	var partialOut, wholeOut bytes.Buffer
	partial := newCursedRenderer(&partialOut, env, width, height)
	whole := newCursedRenderer(&wholeOut, env, width, height)
	for _, r := range []*cursedRenderer{partial, whole} {
		r.setNoInput(true)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"canary", "stable", "\x1b[1;32m✓ live\x1b[m", "\x1b[38;5;208mpaused\x1b[m", "日本語", "next in 9s", "\x1b[7mselected row\x1b[m", ""}
	line := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		return b.String()
	}
	lines := make([]string, height)
	for i := range lines {
		lines[i] = line()
	}
	for frame := range 200 {
		switch k := rng.IntN(10); {
		case k < 5: // one line, as a clock does
			lines[rng.IntN(height)] = line()
		case k < 7: // several
			for range 3 {
				lines[rng.IntN(height)] = line()
			}
		case k < 8: // none
		default: // all
			for i := range lines {
				lines[i] = line()
			}
		}
		if frame == 120 {
			// A resize draws the next frame whole.
			for _, r := range []*cursedRenderer{partial, whole} {
				r.resize(width-10, height)
			}
		}
		v := NewView(strings.Join(lines, "\n"))
		v.AltScreen = true
		for _, r := range []*cursedRenderer{partial, whole} {
			if r == whole {
				r.lastLines = nil
			}
			r.render(v)
			if err := r.flush(false); err != nil {
				t.Fatal(err)
			}
		}
		what := fmt.Sprintf("frame %d", frame)
		if got, want := partial.cellbuf.Render(), whole.cellbuf.Render(); got != want {
			t.Fatalf("%s: the cells drawn line by line differ from the frame drawn whole:\n%q\nwant\n%q", what, got, want)
		}
		// The terminal renderer writes the lines it was told changed; drawn
		// whole, every line is, and a line of wide characters is written
		// again though it is the same.
		if partialOut.Len() > wholeOut.Len() {
			t.Fatalf("%s: drawn line by line, %d bytes went to the terminal, more than the %d of frames drawn whole", what, partialOut.Len(), wholeOut.Len())
		}
	}
	if partialOut.Len() == 0 {
		t.Fatal("nothing was written")
	}
}
