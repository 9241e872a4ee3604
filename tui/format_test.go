package tui

import (
	"testing"
	"time"
)

func TestNextChanges(t *testing.T) {
	for _, tt := range []struct {
		d         time.Duration
		age, down time.Duration
	}{
		{0, 5 * time.Second, time.Second},
		{1500 * time.Millisecond, 3500 * time.Millisecond, time.Second},
		{57 * time.Second, 3 * time.Second, time.Second},
		{90 * time.Second, 30 * time.Second, time.Second},
		{59*time.Minute + 59*time.Second, time.Second, time.Second},
		{2*time.Hour + 10*time.Minute + 20*time.Second, 49*time.Minute + 40*time.Second, 20*time.Second + time.Second/2},
		{3 * 24 * time.Hour, 24 * time.Hour, time.Second / 2},
	} {
		if got := nextAgeChange(tt.d); got != tt.age {
			t.Errorf("nextAgeChange(%s) = %s, want %s", tt.d, got, tt.age)
		}
		if got := nextCountdownChange(tt.d); got != tt.down {
			t.Errorf("nextCountdownChange(%s) = %s, want %s", tt.d, got, tt.down)
		}
		// The text must change exactly then, and not before.
		if before, after := age(tt.d+nextAgeChange(tt.d)-time.Millisecond), age(tt.d+nextAgeChange(tt.d)); before == after {
			t.Errorf("age(%s): %q stays %q at the next change", tt.d, before, after)
		}
	}
}

func TestFitMiddle(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		tail  string
		want  string
	}{
		{"prod-eu-1", 20, "…", "prod-eu-1"},
		{"prod-eu-1", 9, "…", "prod-eu-1"},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/prod-payments-eu-west-1", 30, "…", "arn:aws:e…d-payments-eu-west-1"},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/prod-payments-eu-west-1", 30, "...", "arn:aws:e...payments-eu-west-1"},
		{"abcdef", 1, "…", "a"},
	} {
		got := fitMiddle(c.in, c.width, c.tail)
		if got != c.want || cells(got) > c.width {
			t.Errorf("fitMiddle(%q, %d, %q) = %q (%d cells), want %q", c.in, c.width, c.tail, got, cells(got), c.want)
		}
	}
}
