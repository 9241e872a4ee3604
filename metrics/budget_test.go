package metrics

import (
	"testing"
	"time"
)

func TestCallBudgetReserve(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := func(d float64) time.Time { return t0.Add(time.Duration(d * float64(time.Second))) }
	tests := []struct {
		name      string
		perMinute int
		asks      []time.Time
		grants    []time.Time
	}{
		{
			name: "within the budget", perMinute: 3,
			asks:   []time.Time{s(0), s(10), s(20)},
			grants: []time.Time{s(0), s(10), s(20)},
		},
		{
			name: "a burst waits for the window to slide", perMinute: 2,
			asks:   []time.Time{s(0), s(0), s(0), s(0), s(0)},
			grants: []time.Time{s(0), s(0), s(60), s(60), s(120)},
		},
		{
			name: "a later ask is granted after earlier waiting ones", perMinute: 2,
			asks:   []time.Time{s(0), s(30), s(31), s(40)},
			grants: []time.Time{s(0), s(30), s(60), s(90)},
		},
		{
			name: "a quiet minute frees the budget", perMinute: 1,
			asks:   []time.Time{s(0), s(61), s(200)},
			grants: []time.Time{s(0), s(61), s(200)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCallBudget(tt.perMinute)
			var got []time.Time
			for i, ask := range tt.asks {
				g := b.reserve(ask)
				if !g.Equal(tt.grants[i]) {
					t.Errorf("ask %d at %s: granted %s, want %s", i, ask.Sub(t0), g.Sub(t0), tt.grants[i].Sub(t0))
				}
				got = append(got, g)
			}
			for i := tt.perMinute; i < len(got); i++ {
				if got[i].Sub(got[i-tt.perMinute]) < time.Minute {
					t.Errorf("grants %d and %d are less than a minute apart", i-tt.perMinute, i)
				}
			}
		})
	}
}
