package bugsnagserver

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestParseListParams(t *testing.T) {
	canarySince := "filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
		"&filters[event.since][][type]=eq&filters[event.since][][value]=2026-12-01T10:00:00Z"
	tests := []struct {
		name string
		raw  string
		want listParams
	}{
		{
			name: "defaults",
			raw:  "",
			want: listParams{sort: "last_seen", perPage: 30},
		},
		{
			name: "canary since a time, as roost asks",
			raw:  "sort=last_seen&direction=desc&per_page=100&" + canarySince,
			want: listParams{sort: "last_seen", perPage: 100, filters: filterSet{
				stageEq: []string{"canary"}, since: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			}},
		},
		{
			name: "percent-encoded brackets and colons read the same",
			raw:  "filters%5Bapp.release_stage%5D%5B%5D%5Btype%5D=eq&filters%5Bapp.release_stage%5D%5B%5D%5Bvalue%5D=canary&filters%5Bevent.since%5D%5B%5D%5Btype%5D=eq&filters%5Bevent.since%5D%5B%5D%5Bvalue%5D=2026-12-01T10%3A00%3A00Z",
			want: listParams{sort: "last_seen", perPage: 30, filters: filterSet{
				stageEq: []string{"canary"}, since: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			}},
		},
		{
			name: "value before type pairs too, as in Bugsnag's own examples",
			raw:  "filters[app.release_stage][][value]=canary&filters[app.release_stage][][type]=eq",
			want: listParams{sort: "last_seen", perPage: 30, filters: filterSet{stageEq: []string{"canary"}}},
		},
		{
			name: "two values of one field pair in order",
			raw: "filters[app.release_stage][][type]=eq&filters[app.release_stage][][value]=canary" +
				"&filters[app.release_stage][][type]=ne&filters[app.release_stage][][value]=stable",
			want: listParams{sort: "last_seen", perPage: 30, filters: filterSet{
				stageEq: []string{"canary"}, stageNe: []string{"stable"},
			}},
		},
		{
			name: "relative times count back from now",
			raw: "filters[event.since][][type]=eq&filters[event.since][][value]=30m" +
				"&filters[event.before][][type]=eq&filters[event.before][][value]=1h&filters[event.before][][type]=eq&filters[event.before][][value]=2d",
			want: listParams{sort: "last_seen", perPage: 30, filters: filterSet{
				since: testNow.Add(-30 * time.Minute), before: testNow.Add(-time.Hour),
			}},
		},
		{
			name: "status, sort by events ascending, a later page",
			raw:  "sort=events&direction=asc&offset=60&filters[error.status][][type]=eq&filters[error.status][][value]=open",
			want: listParams{sort: "events", ascending: true, perPage: 30, offset: 60, filters: filterSet{statusEq: []string{"open"}}},
		},
		{
			name: "unknown parameters are ignored",
			raw:  "full_reports=true&base=x",
			want: listParams{sort: "last_seen", perPage: 30},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListParams(tt.raw, testNow)
			if err != nil {
				t.Fatalf("parseListParams: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseListParamsRefuses(t *testing.T) {
	tests := []struct {
		name, raw, wantErr string
	}{
		{"unknown sort", "sort=name", `sort "name" is not one of`},
		{"unknown direction", "direction=up", `direction "up" is neither asc nor desc`},
		{"page too large", "per_page=101", `per_page "101" must be a whole number from 1 to 100`},
		{"page zero", "per_page=0", `per_page "0"`},
		{"negative offset", "offset=-1", `offset "-1"`},
		{"filter without the array brackets", "filters[app.release_stage][type]=eq", "malformed filter parameter"},
		{"filter attribute other than type and value", "filters[app.release_stage][][op]=eq", "a filter has only a type and a value"},
		{"type without value", "filters[app.release_stage][][type]=eq", "needs both a type and a value"},
		{"value without type", "filters[app.release_stage][][value]=canary", "needs both a type and a value"},
		{"unsupported field", "filters[user.email][][type]=eq&filters[user.email][][value]=a@b", "filters[user.email]: unsupported filter field"},
		{"ne on a time", "filters[event.since][][type]=ne&filters[event.since][][value]=1h", `type "ne" is not supported for a time`},
		{"empty on a stage", "filters[app.release_stage][][type]=empty&filters[app.release_stage][][value]=true", `type "empty" is not supported here`},
		{"bad time", "filters[event.since][][type]=eq&filters[event.since][][value]=yesterday", `"yesterday" is neither an ISO 8601 time`},
		{"relative time out of range", "filters[event.since][][type]=eq&filters[event.since][][value]=99999999999999d", "more than 100 years"},
		{"bad escape", "filters%ZZ=1", "malformed query parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseListParams(tt.raw, testNow)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFilterSetMatches(t *testing.T) {
	at := func(min int) time.Time { return testNow.Add(time.Duration(min) * time.Minute) }
	tests := []struct {
		name string
		f    filterSet
		e    event
		want bool
	}{
		{"no filters", filterSet{}, event{at: at(0), stage: "stable"}, true},
		{"stage eq matches", filterSet{stageEq: []string{"canary"}}, event{at: at(0), stage: "canary"}, true},
		{"stage eq misses", filterSet{stageEq: []string{"canary"}}, event{at: at(0), stage: "stable"}, false},
		{"stage eq values OR", filterSet{stageEq: []string{"canary", "stable"}}, event{at: at(0), stage: "stable"}, true},
		{"stage ne excludes", filterSet{stageNe: []string{"stable"}}, event{at: at(0), stage: "stable"}, false},
		{"ne is dropped beside eq", filterSet{stageEq: []string{"stable"}, stageNe: []string{"stable"}}, event{at: at(0), stage: "stable"}, true},
		{"since is inclusive", filterSet{since: at(0)}, event{at: at(0)}, true},
		{"before since", filterSet{since: at(0)}, event{at: at(-1)}, false},
		{"before is exclusive", filterSet{before: at(0)}, event{at: at(0)}, false},
		{"inside the window", filterSet{since: at(-10), before: at(10)}, event{at: at(0)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.eventMatches(tt.e); got != tt.want {
				t.Errorf("eventMatches = %v, want %v", got, tt.want)
			}
		})
	}
	if (filterSet{statusNe: []string{"open"}}).statusMatches("open") {
		t.Error("error.status ne open matched an open error")
	}
	if !(filterSet{statusEq: []string{"open"}}).statusMatches("open") {
		t.Error("error.status eq open missed an open error")
	}
}

func TestWithOffset(t *testing.T) {
	tests := []struct {
		raw  string
		n    int
		want string
	}{
		{"", 30, "offset=30"},
		{"per_page=2&filters[a][][type]=eq&filters[a][][value]=x", 2, "per_page=2&filters[a][][type]=eq&filters[a][][value]=x&offset=2"},
		{"offset=2&per_page=2&sort=events", 4, "per_page=2&sort=events&offset=4"},
		{"per_page=2&%6Fffset=2", 4, "per_page=2&offset=4"},
	}
	for _, tt := range tests {
		if got := withOffset(tt.raw, tt.n); got != tt.want {
			t.Errorf("withOffset(%q, %d) = %q, want %q", tt.raw, tt.n, got, tt.want)
		}
	}
}

func TestGroupingKey(t *testing.T) {
	frames := func(fs ...stackFrame) []stackFrame { return fs }
	lib := stackFrame{Method: "Get", File: "net/http/client.go", LineNumber: 10}
	handler := stackFrame{Method: "checkout", File: "shop/checkout.go", LineNumber: 42, InProject: true}
	moved := stackFrame{Method: "checkout", File: "shop/checkout.go", LineNumber: 43, InProject: true}
	ev := func(ctx string, xs ...notifyException) notifyEvent {
		return notifyEvent{Context: ctx, Exceptions: xs}
	}
	x := func(class string, st []stackFrame) notifyException {
		return notifyException{ErrorClass: class, Stacktrace: st}
	}
	tests := []struct {
		name      string
		a, b      notifyEvent
		same      bool
		reasonOfA string
	}{
		{"same class and top in-project frame, below a library frame", ev("a", x("E", frames(lib, handler))), ev("b", x("E", frames(handler))), true, "frame-inner"},
		{"another class", ev("", x("E", frames(handler))), ev("", x("F", frames(handler))), false, "frame-inner"},
		{"another line", ev("", x("E", frames(handler))), ev("", x("E", frames(moved))), false, "frame-inner"},
		{"no in-project frame: the top frame decides", ev("", x("E", frames(lib))), ev("", x("E", frames(lib, handler))), false, "frame-inner"},
		{"the innermost exception decides", ev("", x("Wrap", frames(lib)), x("E", frames(handler))), ev("", x("Other", nil), x("E", frames(handler))), true, "frame-inner"},
		{"a cause without frames takes its wrapper's", ev("", x("Wrap", frames(handler)), x("E", nil)), ev("", x("Wrap2", frames(lib, handler)), x("E", nil)), true, "frame-inner"},
		{"a cause without frames, wrapped at another line", ev("", x("Wrap", frames(handler)), x("E", nil)), ev("", x("Wrap", frames(moved)), x("E", nil)), false, "frame-inner"},
		{"no stack trace: context decides", ev("GET /a", x("E", nil)), ev("GET /a", x("E", nil)), true, "context-inner"},
		{"no stack trace, another context", ev("GET /a", x("E", nil)), ev("GET /b", x("E", nil)), false, "context-inner"},
		{"the grouping hash wins", notifyEvent{GroupingHash: "db", Exceptions: []notifyException{x("E", frames(handler))}}, notifyEvent{GroupingHash: "db", Exceptions: []notifyException{x("F", nil)}}, true, "user_defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, reason := groupingKey(tt.a)
			kb, _ := groupingKey(tt.b)
			if (ka == kb) != tt.same {
				t.Errorf("same group = %v, want %v (%q, %q)", ka == kb, tt.same, ka, kb)
			}
			if reason != tt.reasonOfA {
				t.Errorf("reason %q, want %q", reason, tt.reasonOfA)
			}
		})
	}
}

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter(2, time.Minute)
	type step struct {
		at        time.Duration
		remaining int
		retry     int
		allowed   bool
	}
	for i, s := range []step{
		{0, 1, 0, true},
		{10 * time.Second, 0, 0, true},
		{20*time.Second + 500*time.Millisecond, 0, 40, false},
		{59 * time.Second, 0, 1, false},
		{60 * time.Second, 1, 0, true},
	} {
		limit, remaining, retry, allowed := l.take("t", testNow.Add(s.at))
		if limit != 2 || remaining != s.remaining || retry != s.retry || allowed != s.allowed {
			t.Errorf("step %d: take = %d, %d, %d, %v; want 2, %d, %d, %v", i, limit, remaining, retry, allowed, s.remaining, s.retry, s.allowed)
		}
	}
	if _, _, _, allowed := l.take("other", testNow); !allowed {
		t.Error("one token's limit held another token back")
	}
	if newRateLimiter(0, time.Minute) != nil {
		t.Error("a limit of 0 made a limiter")
	}
}
