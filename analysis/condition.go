package analysis

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/types"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// Evaluate assesses one measurement's result against a metric's conditions,
// written in the expression language Argo Rollouts uses (expr), with the same
// variables and helpers, and decided by the same rules: no condition passes;
// a success condition alone fails unless it holds; a failure condition alone
// passes unless it holds; with both, failure wins, then success, else the
// measurement is Inconclusive. A condition that does not compile, does not
// give a bool, or fails to run makes the measurement an Error, with the
// reason.
func Evaluate(result any, successCondition, failureCondition string) (v1alpha1.AnalysisPhase, error) {
	success, failure := false, false
	var err error
	if successCondition != "" {
		if success, err = evalCondition(result, "successCondition", successCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, err
		}
	}
	if failureCondition != "" {
		if failure, err = evalCondition(result, "failureCondition", failureCondition); err != nil {
			return v1alpha1.AnalysisPhaseError, err
		}
	}
	switch {
	case successCondition == "" && failureCondition == "":
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case failureCondition == "":
		failure = !success
	case successCondition == "":
		success = !failure
	}
	switch {
	case failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	}
	return v1alpha1.AnalysisPhaseInconclusive, nil
}

// evalCondition runs one condition on result.
func evalCondition(result any, which, condition string) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, conditionError(which, condition, result, fmt.Errorf("%v", r))
		}
	}()
	result = deref(result)
	env := conditionEnv(result)
	declared := expr.Env(env)
	if result == nil {
		// No data has no type to check the condition against: declare
		// result of any type, as Argo's expr did, so that a guard such as
		// `result == nil || result > 0.05` compiles and a bare comparison
		// fails when it runs.
		typed := types.Map{"result": types.Any}
		for k, v := range env {
			if k != "result" {
				typed[k] = types.TypeOf(v)
			}
		}
		declared = expr.Env(typed)
	}
	program, err := expr.Compile(condition, declared, expr.AsBool())
	if err != nil {
		return false, conditionError(which, condition, result, err)
	}
	out, err := expr.Run(program, env)
	if err != nil {
		return false, conditionError(which, condition, result, err)
	}
	return out.(bool), nil
}

// conditionError says which condition failed and, when the provider gave no
// data, that this is why: the usual cause of a nil comparison.
func conditionError(which, condition string, result any, err error) error {
	if result == nil {
		return fmt.Errorf("could not evaluate %s %q: metric result is nil or empty: no data returned from the metric provider: %w", which, condition, err)
	}
	return fmt.Errorf("could not evaluate %s %q: %w", which, condition, err)
}

// conditionEnv is what a condition sees: result and Argo's helpers. isNil
// and default test the whole result, whatever they are given, as Argo's do:
// templates written for Argo rely on it (`default(result, 0) < 0.05`).
func conditionEnv(result any) map[string]any {
	return map[string]any{
		"result":  result,
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   math.IsNaN,
		"isInf":   func(f float64) bool { return math.IsInf(f, 0) },
		"isNil":   func(any) bool { return result == nil },
		"default": func(_ any, d any) any {
			if result == nil {
				return d
			}
			return result
		},
	}
}

// deref follows a pointer result; a nil pointer is no data.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	return rv.Interface()
}

// asInt reads a number, or a string holding one, as an integer.
func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case string:
		return strconv.ParseInt(n, 10, 64)
	case float64:
		return int64(n), nil
	case float32:
		return int64(n), nil
	case int, int8, int16, int32, int64:
		return reflect.ValueOf(n).Int(), nil
	case uint, uint8, uint16, uint32, uint64:
		return int64(reflect.ValueOf(n).Uint()), nil
	}
	return 0, fmt.Errorf("asInt: %v (%T) is not a number", v, v)
}

// asFloat reads a number, or a string holding one, as a float.
func asFloat(v any) (float64, error) {
	switch n := v.(type) {
	case string:
		return strconv.ParseFloat(n, 64)
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	case int, int8, int16, int32, int64:
		return float64(reflect.ValueOf(n).Int()), nil
	case uint, uint8, uint16, uint32, uint64:
		return float64(reflect.ValueOf(n).Uint()), nil
	}
	return 0, fmt.Errorf("asFloat: %v (%T) is not a number", v, v)
}
