package watch

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// PodClient watches pods and reads each one straight into a Pod, without
// the corev1.Pod client-go would decode first. A cockpit's start is mostly
// its pods: 10,000 of them at a few kilobytes each, of which roost keeps a
// hundred bytes. Read from protobuf field by field (podFromProto), a pod
// costs a fraction of the CPU and garbage of a whole corev1.Pod; an answer
// in JSON (a server or proxy without protobuf) is read as before, through
// corev1.Pod and PodOf.
type PodClient struct {
	// trimmed reads pods without their annotations, withAnnotations with
	// them (the reconciler's, for ephemeral metadata).
	trimmed, withAnnotations rest.Interface
}

// NewPodClient is the PodClient of cfg.
func NewPodClient(cfg *rest.Config) (*PodClient, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("pods' client: %w", err)
	}
	var out PodClient
	for _, annotations := range []bool{false, true} {
		c := ProtobufConfig(cfg)
		c.GroupVersion = &corev1.SchemeGroupVersion
		c.APIPath = "/api"
		c.NegotiatedSerializer = podCodecs{NegotiatedSerializer: scheme.Codecs.WithoutConversion(), annotations: annotations}
		rc, err := rest.RESTClientForConfigAndClient(c, hc)
		if err != nil {
			return nil, fmt.Errorf("pods' client: %w", err)
		}
		if annotations {
			out.withAnnotations = rc
		} else {
			out.trimmed = rc
		}
	}
	return &out, nil
}

// Watch watches the pods of namespace ns (all when empty) as the typed
// client does, delivering *Pod; annotations keeps the pods' annotations.
func (c *PodClient) Watch(ctx context.Context, ns string, lo metav1.ListOptions, annotations bool) (apiwatch.Interface, error) {
	var timeout time.Duration
	if lo.TimeoutSeconds != nil {
		timeout = time.Duration(*lo.TimeoutSeconds) * time.Second
	}
	lo.Watch = true
	rc := c.trimmed
	if annotations {
		rc = c.withAnnotations
	}
	return rc.Get().NamespaceIfScoped(ns, ns != "").Resource("pods").VersionedParams(&lo, scheme.ParameterCodec).Timeout(timeout).Watch(ctx)
}

// ProtobufConfig is a copy of cfg whose client asks for protobuf, and for
// JSON where the server has no protobuf (custom resources, some proxies),
// and sends protobuf: built-in kinds, pods above all, decode several times
// faster from it and are smaller on the wire.
func ProtobufConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	return c
}

// podWatchOf is a watch of the typed client's pods delivering *Pod, for a
// client without a PodClient (a fake one, in tests).
func podWatchOf(w apiwatch.Interface, annotations bool) apiwatch.Interface {
	return apiwatch.Filter(w, func(e apiwatch.Event) (apiwatch.Event, bool) {
		if p, ok := e.Object.(*corev1.Pod); ok {
			e.Object = podOfWatched(p, annotations)
		}
		return e, true
	})
}

// podOfWatched is PodOf of a pod from a watch: a bookmark's end of the
// initial events, an annotation, is kept for the reflector either way.
func podOfWatched(p *corev1.Pod, annotations bool) *Pod {
	out := PodOf(p, annotations)
	if v, ok := p.Annotations[metav1.InitialEventsAnnotationKey]; ok && !annotations {
		out.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: v}
	}
	return out
}

// podCodecs are the client's serializers, but that each reads a pod into a
// Pod: from protobuf field by field, from JSON through corev1.Pod.
type podCodecs struct {
	runtime.NegotiatedSerializer
	annotations bool
}

func (c podCodecs) SupportedMediaTypes() []runtime.SerializerInfo {
	return editedMediaTypes(c.NegotiatedSerializer, func(info *runtime.SerializerInfo) {
		info.Serializer = podDecoder{Serializer: info.Serializer, annotations: c.annotations}
		if st := info.StreamSerializer; st != nil && info.MediaType == runtime.ContentTypeProtobuf {
			st := *st
			st.Serializer = watchEventReader{Serializer: st.Serializer}
			info.StreamSerializer = &st
		}
	})
}

// watchEventReader reads a protobuf watch stream's events as its
// Serializer does, but leaves each event's object in the frame it came in
// instead of copying it: client-go decodes the object before it reads the
// next frame, and a Pod's reader copies what it keeps.
type watchEventReader struct {
	runtime.Serializer
}

func (r watchEventReader) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	e, ok := into.(*metav1.WatchEvent)
	if !ok {
		return r.Serializer.Decode(data, defaults, into)
	}
	*e = metav1.WatchEvent{}
	err := eachField(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case typ != protowire.BytesType:
		case num == 1:
			e.Type = string(v)
		case num == 2:
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					e.Object.Raw = v
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading a watch event: %w", err)
	}
	return e, nil, nil
}

// podDecoder decodes as its Serializer does, but a pod into a Pod.
type podDecoder struct {
	runtime.Serializer
	annotations bool
}

func (d podDecoder) Decode(data []byte, defaults *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if into == nil {
		if gvk, raw, ok := protoEnvelope(data); ok && gvk == podGVK {
			p, err := podFromProto(raw, d.annotations)
			if err != nil {
				return nil, nil, fmt.Errorf("reading a pod from protobuf: %w", err)
			}
			return p, &gvk, nil
		}
	}
	obj, gvk, err := d.Serializer.Decode(data, defaults, into)
	if p, ok := obj.(*corev1.Pod); ok && err == nil && into == nil {
		return podOfWatched(p, d.annotations), gvk, nil
	}
	return obj, gvk, err
}

var podGVK = corev1.SchemeGroupVersion.WithKind("Pod")

// protoMagic starts every object the API server encodes in protobuf.
var protoMagic = []byte("k8s\x00")

// protoEnvelope opens the envelope (runtime.Unknown) the API server puts
// each protobuf object in: the object's group, version and kind, and its
// bytes. ok is false for anything else, or an encoded (gzip) object.
func protoEnvelope(data []byte) (gvk schema.GroupVersionKind, raw []byte, ok bool) {
	b, found := bytes.CutPrefix(data, protoMagic)
	if !found {
		return gvk, nil, false
	}
	var apiVersion string
	encoded := false
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // typeMeta
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case typ != protowire.BytesType:
				case num == 1:
					apiVersion = string(v)
				case num == 2:
					gvk.Kind = string(v)
				}
				return nil
			})
		case 2:
			raw = v
		case 3: // contentEncoding
			encoded = len(v) > 0
		}
		return nil
	})
	if err != nil || encoded {
		return gvk, nil, false
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return gvk, nil, false
	}
	gvk.Group, gvk.Version = gv.Group, gv.Version
	return gvk, raw, true
}

// eachField calls f with each field of the protobuf message b, in order:
// its number, wire type and value (the bytes of a length-delimited field,
// or a varint). Other wire types are skipped.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// podFromProto is PodOf of the pod whose protobuf encoding (k8s.io/api's
// core/v1 Pod) is b, reading only the fields PodOf reads into a small
// corev1.Pod, and the number of its containers.
func podFromProto(b []byte, annotations bool) (*Pod, error) {
	var p corev1.Pod
	containers := 0
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			return readMeta(v, &p.ObjectMeta, annotations)
		case 2:
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case typ != protowire.BytesType:
				case num == 2:
					containers++
				case num == 10:
					p.Spec.NodeName = string(v)
				}
				return nil
			})
		case 3:
			return readPodStatus(v, &p.Status)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return podOf(&p, containers, true), nil
}

// readMeta reads what trimMeta keeps of an ObjectMeta, and its annotations
// (but kubectl's last-applied copy) when annotations is set; else only a
// bookmark's end of the initial events, for the reflector.
func readMeta(b []byte, m *metav1.ObjectMeta, annotations bool) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if typ == protowire.VarintType {
			if num == 7 {
				m.Generation = int64(x)
			}
			return nil
		}
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			m.Name = string(v)
		case 3:
			m.Namespace = string(v)
		case 5:
			m.UID = types.UID(v)
		case 6:
			m.ResourceVersion = string(v)
		case 8:
			t, err := readTime(v)
			m.CreationTimestamp = t
			return err
		case 9:
			t, err := readTime(v)
			m.DeletionTimestamp = &t
			return err
		case 11:
			k, val, err := readMapEntry(v)
			if m.Labels == nil {
				m.Labels = map[string]string{}
			}
			m.Labels[k] = val
			return err
		case 12:
			k, val, err := readMapEntry(v)
			if k == lastAppliedAnnotation || (!annotations && k != metav1.InitialEventsAnnotationKey) {
				return err
			}
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[k] = val
			return err
		case 13:
			var o metav1.OwnerReference
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case typ == protowire.VarintType && num == 6:
					c := x != 0
					o.Controller = &c
				case typ == protowire.VarintType && num == 7:
					c := x != 0
					o.BlockOwnerDeletion = &c
				case typ != protowire.BytesType:
				case num == 1:
					o.Kind = string(v)
				case num == 3:
					o.Name = string(v)
				case num == 4:
					o.UID = types.UID(v)
				case num == 5:
					o.APIVersion = string(v)
				}
				return nil
			})
			m.OwnerReferences = append(m.OwnerReferences, o)
			return err
		}
		return nil
	})
}

// readTime reads a metav1.Time as its protobuf decoding does: to the second,
// in local time; empty is the zero time.
func readTime(b []byte) (metav1.Time, error) {
	if len(b) == 0 {
		return metav1.Time{}, nil
	}
	var secs int64
	err := eachField(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if num == 1 && typ == protowire.VarintType {
			secs = int64(x)
		}
		return nil
	})
	return metav1.Time{Time: time.Unix(secs, 0).Local()}, err
}

// readMapEntry reads one entry of a map<string, string>.
func readMapEntry(b []byte) (k, v string, err error) {
	err = eachField(b, func(num protowire.Number, typ protowire.Type, x []byte, _ uint64) error {
		switch {
		case typ != protowire.BytesType:
		case num == 1:
			k = string(x)
		case num == 2:
			v = string(x)
		}
		return nil
	})
	return k, v, err
}

// readPodStatus reads what PodOf and PodReason read of a PodStatus: its
// phase and reason, its Ready and PodScheduled conditions, and its
// containers' and init containers' readiness, restarts and states.
func readPodStatus(b []byte, s *corev1.PodStatus) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			s.Phase = corev1.PodPhase(v)
		case 2:
			var c corev1.PodCondition
			err := eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case typ != protowire.BytesType:
				case num == 1:
					c.Type = corev1.PodConditionType(v)
				case num == 2:
					c.Status = corev1.ConditionStatus(v)
				case num == 5:
					c.Reason = string(v)
				}
				return nil
			})
			if c.Type == corev1.PodReady || c.Type == corev1.PodScheduled {
				s.Conditions = append(s.Conditions, c)
			}
			return err
		case 4:
			s.Reason = string(v)
		case 8:
			c, err := readContainerStatus(v)
			s.ContainerStatuses = append(s.ContainerStatuses, c)
			return err
		case 10:
			c, err := readContainerStatus(v)
			s.InitContainerStatuses = append(s.InitContainerStatuses, c)
			return err
		}
		return nil
	})
}

// readContainerStatus reads a container's readiness, restarts and state.
func readContainerStatus(b []byte) (corev1.ContainerStatus, error) {
	var c corev1.ContainerStatus
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case typ == protowire.VarintType && num == 4:
			c.Ready = x != 0
		case typ == protowire.VarintType && num == 5:
			c.RestartCount = int32(x)
		case typ == protowire.BytesType && num == 2:
			return readContainerState(v, &c.State)
		}
		return nil
	})
	return c, err
}

// readContainerState reads a waiting state's reason, and a terminated
// one's exit code, signal and reason.
func readContainerState(b []byte, st *corev1.ContainerState) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			if st.Waiting == nil {
				st.Waiting = &corev1.ContainerStateWaiting{}
			}
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					st.Waiting.Reason = string(v)
				}
				return nil
			})
		case 2:
			if st.Running == nil {
				st.Running = &corev1.ContainerStateRunning{}
			}
		case 3:
			if st.Terminated == nil {
				st.Terminated = &corev1.ContainerStateTerminated{}
			}
			t := st.Terminated
			return eachField(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case typ == protowire.VarintType && num == 1:
					t.ExitCode = int32(x)
				case typ == protowire.VarintType && num == 2:
					t.Signal = int32(x)
				case typ == protowire.BytesType && num == 3:
					t.Reason = string(v)
				}
				return nil
			})
		}
		return nil
	})
}
