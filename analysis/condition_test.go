package analysis

import (
	"math"
	"strings"
	"testing"

	"github.com/roost-dev/roost/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name             string
		result           any
		success, failure string
		want             v1alpha1.AnalysisPhase
		errHas           string
	}{
		{"no condition passes", 0.9, "", "", successful, ""},
		{"success alone, holds", 0.01, "result < 0.05", "", successful, ""},
		{"success alone, does not hold: failed", 0.2, "result < 0.05", "", failed, ""},
		{"failure alone, holds", 0.2, "", "result >= 0.05", failed, ""},
		{"failure alone, does not hold: passes", 0.01, "", "result >= 0.05", successful, ""},
		{"both: failure wins", 0.5, "result < 0.9", "result > 0.1", failed, ""},
		{"both: success", 0.05, "result < 0.1", "result > 0.2", successful, ""},
		{"both, neither holds: inconclusive", 0.15, "result < 0.1", "result > 0.2", inconclusive, ""},
		{"a pointer result is read through", f(0.01), "result < 0.05", "", successful, ""},
		{"no data compared is an error that says so", (*float64)(nil), "result < 0.05", "", errored, "no data returned from the metric provider"},
		{"default ignores its first argument and tests result", nil, "default(123, 0) < 0.05", "", successful, ""},
		{"default with data keeps the data", 0.2, "default(result, 0) < 0.05", "", failed, ""},
		{"isNil tests result", nil, "", "isNil(1)", failed, ""},
		{"isNil with data", 1.0, "", "isNil(result)", successful, ""},
		{"NaN compares false: failed", math.NaN(), "result < 0.05", "", failed, ""},
		{"isNaN guards it", math.NaN(), "isNaN(result) || result < 0.05", "", successful, ""},
		{"isInf", math.Inf(1), "", "isInf(result)", failed, ""},
		{"asInt of a string", "42", "asInt(result) == 42", "", successful, ""},
		{"asFloat of a string", "0.25", "asFloat(result) > 0.2", "", successful, ""},
		{"asFloat of a number", 3, "asFloat(result) == 3.0", "", successful, ""},
		{"asInt of words is an error", "many", "asInt(result) > 1", "", errored, "could not evaluate successCondition"},
		{"a web answer: a JSON map", map[string]any{"ok": true, "errors": 2.0}, "result.ok && result.errors < 5", "", successful, ""},
		{"a condition that is not a bool", 1.0, "result + 1", "", errored, `successCondition "result + 1"`},
		{"a condition that does not compile", 1.0, "", "result >", errored, "could not evaluate failureCondition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.result, tt.success, tt.failure)
			if got != tt.want {
				t.Errorf("Evaluate = %s (%v), want %s", got, err, tt.want)
			}
			switch {
			case tt.errHas == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
				t.Errorf("error %v does not say %q", err, tt.errHas)
			}
		})
	}
}
