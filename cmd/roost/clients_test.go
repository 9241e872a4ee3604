package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// The typed client asks for protobuf with JSON as the fallback and sends
// protobuf, reads a JSON answer all the same, and leaves the configuration
// it was built from (the dynamic client's) as it was.
func TestKubeClientSpeaksProtobuf(t *testing.T) {
	var accept, contentType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept, contentType = r.Header.Get("Accept"), r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"kind":"Event","apiVersion":"v1","metadata":{"name":"shop.1","namespace":"shop"},"reason":"RolloutAborted"}`)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	kube, err := newKubeClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := kube.CoreV1().Events("shop").Create(context.Background(),
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "shop.1"}, Reason: "RolloutAborted"}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create an Event, answered in JSON: %v", err)
	}
	if ev.Reason != "RolloutAborted" {
		t.Errorf("decoded reason %q, want RolloutAborted", ev.Reason)
	}
	if want := "application/vnd.kubernetes.protobuf,application/json"; accept != want {
		t.Errorf("Accept %q, want %q", accept, want)
	}
	if want := "application/vnd.kubernetes.protobuf"; contentType != want {
		t.Errorf("Content-Type %q, want %q", contentType, want)
	}
	if cfg.ContentType != "" || cfg.AcceptContentTypes != "" {
		t.Errorf("the configuration given changed: content type %q, accept %q", cfg.ContentType, cfg.AcceptContentTypes)
	}
}
