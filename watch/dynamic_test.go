package watch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/roost-dev/roost/api/v1alpha1"
)

// runListJSON is a list of n AnalysisRuns as the API server sends it, each
// with three metrics of ten measurements.
func runListJSON(n int) string {
	var b strings.Builder
	b.WriteString(`{"apiVersion":"argoproj.io/v1alpha1","kind":"AnalysisRunList","metadata":{"resourceVersion":"90210","continue":""},"items":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"apiVersion":"argoproj.io/v1alpha1","kind":"AnalysisRun","metadata":{"name":"svc-%03d-6d4f8b9c7-2","namespace":"scale","uid":"u-%d","resourceVersion":"%d","generation":1,"labels":{"rollouts-pod-template-hash":"6d4f8b9c7"},"ownerReferences":[{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"svc-%03d","uid":"r-%d","controller":true}]},"spec":{"metrics":[`, i, i, 1000+i, i, i)
		for m := range 3 {
			if m > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":"m%d","interval":"30s","count":10,"failureLimit":0,"successCondition":"result[0] < 0.02","provider":{"datadog":{"query":"sum:errors{service:svc-%03d,kube_role:canary}.as_count() / sum:hits{service:svc-%03d}.as_count()","apiVersion":"v2"}}}`, m, i, i)
		}
		b.WriteString(`]},"status":{"phase":"Running","startedAt":"2026-12-07T09:30:00Z","metricResults":[`)
		for m := range 3 {
			if m > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"name":"m%d","phase":"Running","count":10,"successful":10,"measurements":[`, m)
			for x := range 10 {
				if x > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"phase":"Successful","value":"[0.00%d]","startedAt":"2026-12-07T09:3%d:00Z","finishedAt":"2026-12-07T09:3%d:01Z"}`, 41+x, x, x)
			}
			b.WriteString(`]}`)
		}
		b.WriteString(`]}}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// listCases are lists in every shape UnstructuredList reads.
var listCases = map[string]string{
	"runs":          runListJSON(3),
	"typed items":   `{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}},{"kind":"Pod","metadata":{"name":"b"}}]}`,
	"no items":      `{"apiVersion":"v1","kind":"PodList","metadata":{}}`,
	"null items":    `{"apiVersion":"v1","kind":"PodList","items":null}`,
	"empty":         `{"apiVersion":"v1","kind":"PodList","items":[]}`,
	"numbers":       `{"apiVersion":"x/v1","kind":"ThingList","items":[{"kind":"Thing","a":1,"b":-0,"c":1.5,"d":1e3,"e":9223372036854775807,"f":92233720368547758070,"g":[1,2.5,null,true,"s\u00e9\n"]}]}`,
	"dup keys":      `{"apiVersion":"x/v1","kind":"ThingList","items":[{"kind":"Thing","a":1,"a":2}]}`,
	"null item":     `{"apiVersion":"v1","kind":"PodList","items":[null]}`,
	"scalar item":   `{"apiVersion":"v1","kind":"PodList","items":[1]}`,
	"items no list": `{"apiVersion":"v1","kind":"PodList","items":{"a":1}}`,
	"no kind":       `{"items":[]}`,
	"broken":        `{"apiVersion":"v1","kind":"PodList","items":[`,
	"not an object": `[1,2]`,
}

// decodeBoth decodes data into an UnstructuredList with client-go's JSON
// serializer for unstructured objects and with listDecoder around it.
func decodeBoth(t testing.TB, data []byte) (want, got *unstructured.UnstructuredList, wantErr, gotErr error) {
	t.Helper()
	var base listDecoder
	codecs := listCodecs{NegotiatedSerializer: dynamicCodecs(t)}
	for _, info := range codecs.SupportedMediaTypes() {
		if d, ok := info.Serializer.(listDecoder); ok {
			base = d
		}
	}
	if base.Serializer == nil {
		t.Fatal("the dynamic client's JSON serializer is not wrapped")
	}
	want, got = &unstructured.UnstructuredList{}, &unstructured.UnstructuredList{}
	_, _, wantErr = base.Serializer.Decode(data, nil, want)
	_, _, gotErr = base.Decode(data, nil, got)
	return want, got, wantErr, gotErr
}

// dynamicCodecs are the serializers client-go's dynamic client uses.
func dynamicCodecs(testing.TB) runtime.NegotiatedSerializer {
	return dynamic.ConfigFor(&rest.Config{}).NegotiatedSerializer
}

// TestListDecoderReadsAsClientGo: a list read in one pass is the list
// client-go reads, in every shape, and fails where it fails.
func TestListDecoderReadsAsClientGo(t *testing.T) {
	for name, data := range listCases {
		want, got, wantErr, gotErr := decodeBoth(t, []byte(data))
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Errorf("%s: error %v, client-go's %v", name, gotErr, wantErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
		}
	}
}

// FuzzListDecoder: for any input, the one-pass list is client-go's.
func FuzzListDecoder(f *testing.F) {
	for _, data := range listCases {
		f.Add([]byte(data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got, wantErr, gotErr := decodeBoth(t, data)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("error %v, client-go's %v", gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("\n got %#v\nwant %#v", got, want)
		}
	})
}

// TestDynamicClientListsInOnePass: the dynamic client of NewDynamicClient
// lists over HTTP what client-go's lists.
func TestDynamicClientListsInOnePass(t *testing.T) {
	body := runListJSON(20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/argoproj.io/v1alpha1/namespaces/scale/analysisruns" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	dyn, err := NewDynamicClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("scale").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want unstructured.UnstructuredList
	if err := want.UnmarshalJSON([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("listed %d runs, resourceVersion %q; want %d, %q, equal", len(got.Items), got.GetResourceVersion(), len(want.Items), want.GetResourceVersion())
	}
	if _, err := dyn.Resource(v1alpha1.AnalysisRunGVR).Namespace("other").List(context.Background(), metav1.ListOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a missing resource: %v, want not found", err)
	}
}

// BenchmarkListDecoder reads the 200 runs of make e2e-scale's analysis
// phase: in one pass, and as client-go does.
func BenchmarkListDecoder(b *testing.B) {
	data := []byte(runListJSON(200))
	for _, one := range []bool{true, false} {
		b.Run(map[bool]string{true: "one-pass", false: "client-go"}[one], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var l unstructured.UnstructuredList
				var err error
				if one {
					err = readList(data, &l)
				} else {
					err = l.UnmarshalJSON(data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
