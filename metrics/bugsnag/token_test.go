package bugsnag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/metrics"
)

const (
	envToken    = "env-token-0123456789"
	secretToken = "secret-token-9876543210"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "roost", Name: "bugsnag"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestLoadToken(t *testing.T) {
	ref := metrics.SecretRef{Namespace: "roost", Name: "bugsnag"}
	forbidden := func() kubernetes.Interface {
		kube := kubefake.NewClientset()
		kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "bugsnag", errors.New(`User "ann" cannot get resource "secrets" in the namespace "roost"`))
		})
		return kube
	}
	tests := []struct {
		name    string
		getenv  func(string) string
		kube    kubernetes.Interface
		ref     metrics.SecretRef
		want    Token
		wantErr error
		msg     []string
	}{
		{name: "environment", getenv: env(map[string]string{TokenEnv: envToken}), want: envToken},
		{name: "environment, trimmed", getenv: env(map[string]string{TokenEnv: " " + envToken + "\n"}), want: envToken},
		{name: "environment before the Secret", getenv: env(map[string]string{TokenEnv: envToken}), kube: kubefake.NewClientset(secret(map[string]string{SecretKey: secretToken})), ref: ref, want: envToken},
		{name: "Secret", getenv: env(nil), kube: kubefake.NewClientset(secret(map[string]string{SecretKey: secretToken + "\n"})), ref: ref, want: secretToken},
		{name: "Secret written with stringData", getenv: env(nil), kube: kubefake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "roost", Name: "bugsnag"}, StringData: map[string]string{SecretKey: secretToken}}), ref: ref, want: secretToken},
		{
			name: "neither", getenv: env(nil), wantErr: ErrNoToken,
			msg: []string{"set BUGSNAG_AUTH_TOKEN, or name a Secret with the key auth-token in bugsnag.secret of ~/.config/roost/config.yaml", "Personal auth tokens"},
		},
		{
			name: "Secret absent", getenv: env(nil), kube: kubefake.NewClientset(), ref: ref, wantErr: ErrSecretNotFound,
			msg: []string{"Secret roost/bugsnag does not exist", "kubectl create secret generic bugsnag -n roost --from-literal=auth-token=<token>", "or set BUGSNAG_AUTH_TOKEN"},
		},
		{
			name: "key missing", getenv: env(nil), kube: kubefake.NewClientset(secret(map[string]string{"token": secretToken, "api-key": "x"})), ref: ref, wantErr: ErrSecretKeyMissing,
			msg: []string{"Secret roost/bugsnag has no key auth-token (its keys: api-key, token)"},
		},
		{
			name: "key missing from an empty Secret", getenv: env(nil), kube: kubefake.NewClientset(secret(nil)), ref: ref, wantErr: ErrSecretKeyMissing,
			msg: []string{"(its keys: none)"},
		},
		{
			name: "key empty", getenv: env(nil), kube: kubefake.NewClientset(secret(map[string]string{SecretKey: " \n"})), ref: ref, wantErr: ErrSecretKeyMissing,
			msg: []string{"key auth-token of Secret roost/bugsnag is empty"},
		},
		{
			name: "forbidden", getenv: env(nil), kube: forbidden(), ref: ref, wantErr: ErrSecretForbidden,
			msg: []string{"you may not read the Bugsnag auth token's Secret roost/bugsnag", `cannot get resource "secrets"`, "ask for get on secrets in namespace roost"},
		},
		{
			name: "Secret without a namespace", getenv: env(nil), kube: kubefake.NewClientset(), ref: metrics.SecretRef{Name: "bugsnag"}, wantErr: ErrNoToken,
			msg: []string{`the Secret "/bugsnag" in bugsnag.secret of ~/.config/roost/config.yaml needs both a namespace and a name`},
		},
		{
			name: "Secret without a cluster", getenv: env(nil), ref: ref, wantErr: ErrNoToken,
			msg: []string{"Secret roost/bugsnag is configured but there is no cluster connection to read it; set BUGSNAG_AUTH_TOKEN instead"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadToken(context.Background(), tt.getenv, tt.kube, tt.ref)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("LoadToken: %v", err)
				}
				if got != tt.want {
					t.Error("LoadToken returned another token than expected")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.wantErr)
			}
			msg := err.Error()
			if strings.Contains(msg, secretToken) || strings.Contains(msg, envToken) {
				t.Fatal("the error holds a token")
			}
			for _, m := range tt.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q lacks %q", msg, m)
				}
			}
			for _, other := range []error{ErrNoToken, ErrSecretNotFound, ErrSecretKeyMissing, ErrSecretForbidden} {
				if other != tt.wantErr && errors.Is(err, other) {
					t.Errorf("error also wraps %v", other)
				}
			}
		})
	}
}

func TestTokenNeverPrints(t *testing.T) {
	tok := Token(secretToken)
	opts := Options{Token: tok, Address: "https://api.bugsnag.com"}
	js, err := json.Marshal(struct{ Token Token }{tok})
	if err != nil {
		t.Fatal(err)
	}
	printed := []string{
		fmt.Sprint(tok), fmt.Sprintf("%s %v %q %x %d %#v %+v", tok, tok, tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v", opts, opts, opts), string(js),
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	printed = append(printed, c.String(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c))
	for i, p := range printed {
		if strings.Contains(p, secretToken) {
			t.Errorf("printed form %d holds the token", i)
		}
	}
	if string(js) != `{"Token":"[redacted]"}` {
		t.Errorf("JSON %s", js)
	}
	if !strings.Contains(printed[0], "[redacted]") || !strings.Contains(printed[4], "https://api.bugsnag.com") {
		t.Errorf("printed forms %q, %q", printed[0], printed[4])
	}
}
