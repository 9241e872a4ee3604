package v1alpha1

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"pgregory.net/rapid"
)

// The reconciler and the event recorder take these as runtime.Objects.
var (
	_ runtime.Object = &Rollout{}
	_ runtime.Object = &RolloutList{}
)

// TestDeepCopy fills every field of every type with a generated DeepCopy
// (deepCopyTypes) with random values, down through the Kubernetes types they
// embed, and checks that the copy equals its source and shares no pointer,
// slice or map with it. A field the deep copy misses is either left zero or
// shared with the source, so it fails here.
func TestDeepCopy(t *testing.T) {
	for _, v := range deepCopyTypes {
		typ := reflect.TypeOf(v).Elem()
		if typ.Size() == 0 {
			continue // an empty struct: nothing to fill, nothing to copy
		}
		for _, sparse := range []bool{false, true} {
			name := typ.Name() + "/every-field-set"
			if sparse {
				name = typ.Name() + "/nil-and-empty-too"
			}
			t.Run(name, func(t *testing.T) {
				rapid.Check(t, func(rt *rapid.T) { checkDeepCopy(rt, typ, sparse) })
			})
		}
	}
}

func checkDeepCopy(t *rapid.T, typ reflect.Type, sparse bool) {
	drawn := randomValue(typ, sparse).Draw(t, "src")
	if len(drawn.unfilled) > 0 {
		t.Fatalf("the test cannot fill every field of %s, so it cannot check their copy:\n%s",
			typ, strings.Join(drawn.unfilled, "\n"))
	}
	src := drawn.ptr

	copies := map[string]reflect.Value{"DeepCopy": deepCopy(t, src)}
	if obj, ok := src.Interface().(runtime.Object); ok {
		copies["DeepCopyObject"] = reflect.ValueOf(obj.DeepCopyObject())
	}
	for method, cp := range copies {
		if cp.Type() != src.Type() || cp.IsNil() {
			t.Fatalf("%s.%s returned %v", typ, method, cp)
		}
		problem := compare(src.Elem(), cp.Elem(), typ.Name())
		if problem == "" && !reflect.DeepEqual(src.Interface(), cp.Interface()) {
			problem = "the copy is not reflect.DeepEqual to its source"
		}
		if problem != "" {
			t.Fatalf("%s.%s: %s", typ, method, problem)
		}
	}
}

// deepCopy calls DeepCopy on src (a *T) and returns the copy as a *T, whether
// DeepCopy returns a *T (structs) or a T (named slices and maps).
func deepCopy(t *rapid.T, src reflect.Value) reflect.Value {
	m := src.MethodByName("DeepCopy")
	if !m.IsValid() {
		t.Fatalf("%s has no DeepCopy", src.Type().Elem())
	}
	out := m.Call(nil)[0]
	if out.Type() == src.Type() {
		return out
	}
	p := reflect.New(src.Type().Elem())
	p.Elem().Set(out)
	return p
}

func TestDeepCopyNil(t *testing.T) {
	for _, v := range deepCopyTypes {
		nilPtr := reflect.Zero(reflect.TypeOf(v))
		m := nilPtr.MethodByName("DeepCopy")
		if m.Type().Out(0).Kind() != reflect.Pointer {
			continue // a named slice or map: its DeepCopy takes a value
		}
		if !m.Call(nil)[0].IsNil() {
			t.Errorf("DeepCopy of a nil %s is not nil", nilPtr.Type())
		}
	}
}

// randomValue draws a *typ with every field filled (see filler). Its draws are
// not logged one by one: a failure names the field that went wrong.
func randomValue(typ reflect.Type, sparse bool) *rapid.Generator[random] {
	return rapid.Custom(func(t *rapid.T) random {
		f := &filler{t: t, sparse: sparse, onPath: map[reflect.Type]bool{}}
		ptr := reflect.New(typ)
		f.fill(ptr.Elem(), typ.Name())
		return random{ptr: ptr, unfilled: f.unfilled}
	})
}

// random is a drawn value, and the fields the filler could not fill in it.
type random struct {
	ptr      reflect.Value
	unfilled []string
}

// GoString keeps rapid's log of a failing case to the type: the value itself
// runs to thousands of fields.
func (r random) GoString() string { return "a random " + r.ptr.Type().String() }

// filler sets every field reachable from a value by reflection to a value drawn
// by rapid, so that a field added to a type is covered without touching the test.
type filler struct {
	t *rapid.T
	// sparse lets pointers, slices and maps be nil or empty and values be zero;
	// otherwise every pointer, slice and map holds something and no value is zero,
	// so that a field the copy leaves out cannot go unnoticed.
	sparse bool
	// onPath holds the struct types being filled, to stop at a recursive type.
	onPath   map[reflect.Type]bool
	unfilled []string
}

// leafFillers build values of types whose fields are unexported: only their
// constructors make valid ones.
var leafFillers = map[reflect.Type]func(f *filler, path string) any{
	reflect.TypeFor[time.Time](): func(f *filler, path string) any {
		sec := rapid.Int64Range(1, 1<<34).Draw(f.t, path+".sec")
		nsec := rapid.Int64Range(0, 999_999_999).Draw(f.t, path+".nsec")
		return time.Unix(sec, nsec).UTC()
	},
	// Quantity keeps small values in an int64 and large ones in an inf.Dec;
	// up to 30 digits draws both.
	reflect.TypeFor[resource.Quantity](): func(f *filler, path string) any {
		digits := rapid.StringMatching(`[1-9][0-9]{0,29}`).Draw(f.t, path+".digits")
		suffix := rapid.SampledFrom([]string{"", "m", "k", "Mi", "e3"}).Draw(f.t, path+".suffix")
		return resource.MustParse(digits + suffix)
	},
}

func (f *filler) fill(v reflect.Value, path string) {
	if leaf, ok := leafFillers[v.Type()]; ok {
		v.Set(reflect.ValueOf(leaf(f, path)))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!f.sparse || rapid.Bool().Draw(f.t, path))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		n := rapid.Int64Range(-1<<(bits-1), 1<<(bits-1)-1).Draw(f.t, path)
		if n == 0 && !f.sparse {
			n = 1
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := rapid.Uint64Range(0, math.MaxUint64>>(64-v.Type().Bits())).Draw(f.t, path)
		if n == 0 && !f.sparse {
			n = 1
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		x := rapid.Float64Range(-1e9, 1e9).Draw(f.t, path)
		if x == 0 && !f.sparse {
			x = 1
		}
		v.SetFloat(x)
	case reflect.String:
		v.SetString(rapid.StringN(f.minLen(), 8, -1).Draw(f.t, path))
	case reflect.Pointer:
		if f.recursive(v.Type().Elem()) || f.sparse && !rapid.Bool().Draw(f.t, path+" set") {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem(), path)
	case reflect.Slice:
		if f.recursive(v.Type().Elem()) {
			return
		}
		n, isNil := f.length(path)
		if isNil {
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := range n {
			f.fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		if f.recursive(v.Type().Elem()) {
			return
		}
		n, isNil := f.length(path)
		if isNil {
			return
		}
		v.Set(reflect.MakeMapWithSize(v.Type(), n))
		for i := range n {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, fmt.Sprintf("%s.key%d", path, i))
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, fmt.Sprintf("%s[%v]", path, k))
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		f.onPath[v.Type()] = true
		defer delete(f.onPath, v.Type())
		for i := range v.NumField() {
			field := v.Type().Field(i)
			if !field.IsExported() {
				f.unfilled = append(f.unfilled, fmt.Sprintf("%s.%s: unexported field of %s; add %s to leafFillers",
					path, field.Name, v.Type(), v.Type()))
				continue
			}
			f.fill(v.Field(i), path+"."+field.Name)
		}
	default:
		f.unfilled = append(f.unfilled, fmt.Sprintf("%s: a %s, which the filler does not know; add it to leafFillers",
			path, v.Type()))
	}
}

func (f *filler) minLen() int {
	if f.sparse {
		return 0
	}
	return 1
}

// length draws a slice or map's length, and in sparse mode whether it is nil
// (deep copies keep nil and empty apart).
func (f *filler) length(path string) (n int, isNil bool) {
	if f.sparse {
		n = rapid.IntRange(-1, 2).Draw(f.t, path+" len")
		return max(n, 0), n < 0
	}
	// One is enough to see what a copy shares; the sparse draws vary the length.
	return 1, false
}

// recursive reports whether typ leads back to a struct being filled: it is
// left empty there, or a recursive type would be filled forever.
func (f *filler) recursive(typ reflect.Type) bool {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	return f.onPath[typ]
}

// immutable are types a copy may share with its source: nothing changes them.
var immutable = map[reflect.Type]bool{
	reflect.TypeFor[*time.Location](): true,
}

// compare walks a source and its copy side by side and returns where they
// first differ, or where the copy shares memory with the source; "" if nowhere.
// It reads unexported fields too, since a shared pointer there is shared all the same.
func compare(src, cp reflect.Value, path string) string {
	if src.Type() != cp.Type() {
		return fmt.Sprintf("%s: a %s copied as a %s", path, src.Type(), cp.Type())
	}
	if immutable[src.Type()] {
		if src.Pointer() != cp.Pointer() {
			return fmt.Sprintf("%s: differs", path)
		}
		return ""
	}
	differs := func(a, b any) string { return fmt.Sprintf("%s: source %v, copy %v", path, a, b) }
	switch src.Kind() {
	case reflect.Bool:
		if src.Bool() != cp.Bool() {
			return differs(src.Bool(), cp.Bool())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if src.Int() != cp.Int() {
			return differs(src.Int(), cp.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if src.Uint() != cp.Uint() {
			return differs(src.Uint(), cp.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if src.Float() != cp.Float() {
			return differs(src.Float(), cp.Float())
		}
	case reflect.String:
		if src.String() != cp.String() {
			return differs(src.String(), cp.String())
		}
	case reflect.Pointer:
		if src.IsNil() || cp.IsNil() {
			if src.IsNil() != cp.IsNil() {
				return differs(nilness(src), nilness(cp))
			}
			return ""
		}
		// Go may give every allocation of a zero-size type the same address,
		// so sharing is only a fault when there is something to share.
		if src.Pointer() == cp.Pointer() && src.Type().Elem().Size() > 0 {
			return path + ": the copy shares this pointer with its source"
		}
		return compare(src.Elem(), cp.Elem(), path)
	case reflect.Interface:
		if src.IsNil() || cp.IsNil() {
			if src.IsNil() != cp.IsNil() {
				return differs(nilness(src), nilness(cp))
			}
			return ""
		}
		return compare(src.Elem(), cp.Elem(), path)
	case reflect.Slice:
		if src.IsNil() != cp.IsNil() {
			return differs(nilness(src), nilness(cp))
		}
		if src.Len() != cp.Len() {
			return differs(fmt.Sprintf("len %d", src.Len()), fmt.Sprintf("len %d", cp.Len()))
		}
		if overlap(src, cp) {
			return path + ": the copy shares this slice's backing array with its source"
		}
		for i := range src.Len() {
			if p := compare(src.Index(i), cp.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Array:
		for i := range src.Len() {
			if p := compare(src.Index(i), cp.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		if src.IsNil() != cp.IsNil() {
			return differs(nilness(src), nilness(cp))
		}
		if src.Len() != cp.Len() {
			return differs(fmt.Sprintf("len %d", src.Len()), fmt.Sprintf("len %d", cp.Len()))
		}
		if src.Len() > 0 && src.Pointer() == cp.Pointer() {
			return path + ": the copy shares this map with its source"
		}
		for it := src.MapRange(); it.Next(); {
			e := cp.MapIndex(it.Key())
			if !e.IsValid() {
				return fmt.Sprintf("%s[%v]: missing from the copy", path, it.Key())
			}
			if p := compare(it.Value(), e, fmt.Sprintf("%s[%v]", path, it.Key())); p != "" {
				return p
			}
		}
	case reflect.Struct:
		for i := range src.NumField() {
			if p := compare(src.Field(i), cp.Field(i), path+"."+src.Type().Field(i).Name); p != "" {
				return p
			}
		}
	default:
		return fmt.Sprintf("%s: cannot compare a %s", path, src.Type())
	}
	return ""
}

func nilness(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return "not nil"
}

// overlap reports whether two slices' backing arrays, up to their capacity,
// have any element in common.
func overlap(a, b reflect.Value) bool {
	size := a.Type().Elem().Size()
	if a.Cap() == 0 || b.Cap() == 0 || size == 0 {
		return false
	}
	aStart, bStart := a.Pointer(), b.Pointer()
	aEnd, bEnd := aStart+uintptr(a.Cap())*size, bStart+uintptr(b.Cap())*size
	return aStart < bEnd && bStart < aEnd
}
