package watch

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// NewDynamicClient is client-go's dynamic client of cfg, but for how it
// reads a list: in one pass over its JSON. client-go reads an
// UnstructuredList's JSON four times (its kind, its items as raw messages,
// the whole list, then each item again); the AnalysisRuns a cockpit lists
// at start, measurements and all, made that a sixth of its CPU before the
// first frame.
func NewDynamicClient(cfg *rest.Config) (dynamic.Interface, error) {
	c := dynamic.ConfigFor(cfg)
	hc, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, err
	}
	// As dynamic.NewForConfigAndClient: every path is absolute.
	c.GroupVersion = nil
	c.APIPath = "/if-you-see-this-search-for-the-break"
	c.NegotiatedSerializer = listCodecs{NegotiatedSerializer: c.NegotiatedSerializer}
	rc, err := rest.UnversionedRESTClientForConfigAndClient(c, hc)
	if err != nil {
		return nil, err
	}
	return dynamic.New(rc), nil
}

// listCodecs are the dynamic client's serializers, whose JSON one reads a
// list in one pass (listDecoder).
type listCodecs struct {
	runtime.NegotiatedSerializer
}

func (c listCodecs) SupportedMediaTypes() []runtime.SerializerInfo {
	return editedMediaTypes(c.NegotiatedSerializer, func(info *runtime.SerializerInfo) {
		if info.MediaType == runtime.ContentTypeJSON {
			info.Serializer = listDecoder{Serializer: info.Serializer}
		}
	})
}

// editedMediaTypes are the media types of ns, each passed through edit,
// which may change them: ns's stay as they are.
func editedMediaTypes(ns runtime.NegotiatedSerializer, edit func(*runtime.SerializerInfo)) []runtime.SerializerInfo {
	infos := slices.Clone(ns.SupportedMediaTypes())
	for i := range infos {
		edit(&infos[i])
	}
	return infos
}

// listDecoder decodes as its Serializer does, but JSON into an
// UnstructuredList in one pass, to the same list. Anything it does not
// expect (an item that is no object, no items) it leaves to its
// Serializer, errors and all.
type listDecoder struct {
	runtime.Serializer
}

func (d listDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	list, ok := into.(*unstructured.UnstructuredList)
	if !ok {
		return d.Serializer.Decode(data, defaults, into)
	}
	if err := readList(data, list); err != nil {
		return d.Serializer.Decode(data, defaults, into)
	}
	gvk := list.GroupVersionKind()
	if gvk.Kind == "" {
		return nil, &gvk, runtime.NewMissingKindErr(string(data))
	}
	return list, &gvk, nil
}

// readList reads a list's JSON into list, as UnstructuredList's
// UnmarshalJSON does: the list without its items in Object, each item in
// Items, an item without kind and apiVersion given the list's.
func readList(data []byte, list *unstructured.UnstructuredList) error {
	var m map[string]any
	if err := utiljson.Unmarshal(data, &m); err != nil {
		return err
	}
	raw, found := m["items"]
	items, ok := raw.([]any)
	if !found || (!ok && raw != nil) {
		return fmt.Errorf("a list without items")
	}
	delete(m, "items")
	out := unstructured.UnstructuredList{Object: m, Items: make([]unstructured.Unstructured, 0, len(items))}
	apiVersion, itemKind := out.GetAPIVersion(), strings.TrimSuffix(out.GetKind(), "List")
	for _, it := range items {
		obj, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("an item that is no object")
		}
		u := unstructured.Unstructured{Object: obj}
		if u.GetKind() == "" && u.GetAPIVersion() == "" {
			u.SetKind(itemKind)
			u.SetAPIVersion(apiVersion)
		}
		out.Items = append(out.Items, u)
	}
	*list = out
	return nil
}
