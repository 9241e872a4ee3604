package demo

import (
	"testing"
	"time"
)

func TestBump(t *testing.T) {
	tests := []struct {
		v    string
		fix  bool
		want string
	}{
		{"2.4.0", true, "2.4.1"},
		{"2.4.1", false, "2.5.0"},
		{"1.9.12", false, "1.10.0"},
		{"latest", false, "latest.1"},
		{"1.2", true, "1.2.1"},
		{"1.x.3", false, "1.x.3.1"},
	}
	for _, tt := range tests {
		if got := bump(tt.v, tt.fix); got != tt.want {
			t.Errorf("bump(%q, fix %v) = %q, want %q", tt.v, tt.fix, got, tt.want)
		}
	}
}

func TestNextRelease(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	plan := []Quality{Good, Bad}
	tests := []struct {
		name   string
		states []rolloutState
		n      int
		want   release
		ok     bool
	}{
		{
			name: "nothing at rest",
			states: []rolloutState{
				{Key: "shop/checkout", Version: "3.3.0", Released: at(0)},
				{Key: "payments/ledger", Version: "2.4.0", Bad: true, Released: at(0)},
			},
		},
		{
			name: "the one released longest ago, with the plan's quality",
			states: []rolloutState{
				{Key: "shop/cart", AtRest: true, Version: "1.8.3", Released: at(2)},
				{Key: "payments/refunds", AtRest: true, Version: "1.2.0", Released: at(1)},
				{Key: "shop/checkout", Version: "3.3.0", Released: at(0)},
			},
			n:    1,
			want: release{Key: "payments/refunds", Version: "1.3.0", Quality: Bad},
			ok:   true,
		},
		{
			name: "the plan goes round",
			states: []rolloutState{
				{Key: "shop/cart", AtRest: true, Version: "1.8.3", Released: at(0)},
			},
			n:    2,
			want: release{Key: "shop/cart", Version: "1.9.0", Quality: Good},
			ok:   true,
		},
		{
			name: "an aborted rollout gets a fix first",
			states: []rolloutState{
				{Key: "shop/cart", AtRest: true, Version: "1.8.3", Released: at(0)},
				{Key: "payments/ledger", AtRest: true, Aborted: true, Version: "2.4.0", Bad: true, Released: at(5)},
			},
			n:    1,
			want: release{Key: "payments/ledger", Version: "2.4.1", Quality: Good, Fix: true},
			ok:   true,
		},
		{
			name: "a bad version promoted anyway gets a fix too",
			states: []rolloutState{
				{Key: "shop/cart", AtRest: true, Version: "1.8.3", Released: at(0)},
				{Key: "payments/ledger", AtRest: true, Version: "2.4.0", Bad: true, Released: at(5)},
			},
			want: release{Key: "payments/ledger", Version: "2.4.1", Quality: Good, Fix: true},
			ok:   true,
		},
		{
			name: "an aborted good version (aborted by mistake) gets a fix as well",
			states: []rolloutState{
				{Key: "shop/checkout", AtRest: true, Aborted: true, Version: "3.3.0", Released: at(5)},
			},
			want: release{Key: "shop/checkout", Version: "3.3.1", Quality: Good, Fix: true},
			ok:   true,
		},
	}
	for _, tt := range tests {
		got, ok := nextRelease(tt.states, plan, tt.n)
		if ok != tt.ok || got != tt.want {
			t.Errorf("%s: nextRelease = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if got, _ := nextRelease([]rolloutState{{Key: "a/b", AtRest: true, Version: "1.0.0"}}, nil, 3); got.Quality != Good {
		t.Errorf("without a plan the release is %s, want good", got.Quality)
	}
}

func TestVersionBook(t *testing.T) {
	b := &versionBook{bad: map[string]bool{}}
	b.set("payments/ledger:2.4.0", Bad)
	b.set("shop/checkout:3.3.0", Good)
	for image, want := range map[string]Quality{"payments/ledger:2.4.0": Bad, "shop/checkout:3.3.0": Good, "shop/cart:0.0.1": Good} {
		if got := b.quality(image); got != want {
			t.Errorf("quality(%s) = %s, want %s", image, got, want)
		}
	}
}
