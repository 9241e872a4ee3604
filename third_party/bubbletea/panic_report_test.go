package tea

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// altShown is a program in the alternate screen whose Init runs cmds.
type altShown struct{ cmds []Cmd }

func (m altShown) Init() Cmd               { return Sequence(m.cmds...) }
func (m altShown) Update(Msg) (Model, Cmd) { return m, nil }
func (m altShown) View() View {
	v := NewView("drawn")
	v.AltScreen = true
	return v
}

// panicking is a command that panics with value once out shows the view.
func panicking(out *output, value string) Cmd {
	return func() Msg {
		for deadline := time.Now().Add(patience); !out.contains("drawn") && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		panic(value)
	}
}

// TestPanicReportAfterTheTerminalIsRestored: a command panics while the
// program is in the alternate screen. Run returns ErrProgramPanic, and the
// report (the value and the stack) is printed on stderr once, after the
// terminal has left the alternate screen, where it stays to be read. Upstream
// prints a batch's or a sequence's panic before, into the alternate screen,
// which takes it away when it is left.
func TestPanicReportAfterTheTerminalIsRestored(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmds func(out *output) []Cmd
	}{
		// A batch's and a sequence's commands run in goroutines of their
		// own (recoverFromGoPanic); a lone command in the command
		// handler's (recoverFromPanic).
		{"in a batch", func(out *output) []Cmd {
			return []Cmd{Batch(panicking(out, "the value of the panic"), func() Msg { return nil })}
		}},
		{"in a sequence", func(out *output) []Cmd {
			return []Cmd{func() Msg { return nil }, panicking(out, "the value of the panic")}
		}},
		{"alone", func(out *output) []Cmd { return []Cmd{panicking(out, "the value of the panic")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			saved := os.Stderr
			os.Stderr = w
			t.Cleanup(func() { os.Stderr = saved })

			// The terminal and stderr are one stream, as in a terminal: what
			// was written comes out in the order it was written.
			out := &output{}
			copied := make(chan struct{})
			go func() {
				_, _ = io.Copy(out, r)
				close(copied)
			}()

			p := NewProgram(altShown{tc.cmds(out)}, WithInput(nil), WithOutput(w),
				WithEnvironment([]string{"TERM=xterm-256color"}), WithWindowSize(40, 5), WithoutSignalHandler())
			done := make(chan error, 1)
			go func() { _, err := p.Run(); done <- err }()
			select {
			case err = <-done:
			case <-time.After(patience):
				t.Fatal("the program did not stop after the panic")
			}
			os.Stderr = saved
			_ = w.Close()
			<-copied
			if !errors.Is(err, ErrProgramPanic) {
				t.Errorf("Run returned %v, want ErrProgramPanic", err)
			}
			written := out.String()
			at := strings.Index(written, "Caught panic:")
			if at < 0 || !strings.Contains(written[at:], "the value of the panic") || !strings.Contains(written[at:], "panicking") {
				t.Fatalf("no report with the panic's value and its stack (Run: %v):\n%q", err, written)
			}
			if n := strings.Count(written, "Caught panic:"); n != 1 {
				t.Errorf("the report was printed %d times, want once", n)
			}
			if !strings.Contains(written, "\x1b[?1049h") {
				t.Fatalf("the program never entered the alternate screen: %q", written)
			}
			if left := strings.LastIndex(written, "\x1b[?1049l"); left < 0 || left > at {
				t.Errorf("the report was printed while the terminal was in the alternate screen, where it is lost: %q", written)
			}
		})
	}
}
