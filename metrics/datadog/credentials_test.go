package datadog

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
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/roost-dev/roost/metrics"
)

const (
	envAPIKey    = "env0api0key0000000000000000000001"
	envAppKey    = "env0app0key00000000000000000000000000002"
	secretAPIKey = "sec0api0key0000000000000000000003"
	secretAppKey = "sec0app0key00000000000000000000000000004"
)

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "roost", Name: "datadog"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestResolveCredentials(t *testing.T) {
	ref := metrics.SecretRef{Namespace: "roost", Name: "datadog"}
	forbidden := func() *fake.Clientset {
		c := fake.NewClientset()
		c.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "datadog", errors.New("RBAC: access denied"))
		})
		return c
	}
	tests := []struct {
		name   string
		env    map[string]string
		cfg    CredentialConfig
		secret *corev1.Secret
		kube   *fake.Clientset
		want   Credentials
		// source is a piece of want's Source.
		source string
		// wantErr is a piece of the message, and wantKind what it wraps.
		wantErr  string
		wantKind error
	}{
		{
			name: "env only",
			env:  map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey},
			want: Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: DefaultAddress},
		},
		{
			name: "env with DD_SITE",
			env:  map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey, "DD_SITE": "datadoghq.eu"},
			want: Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: "https://api.datadoghq.eu"},
		},
		{
			name: "DD_SITE as pasted from the browser",
			env:  map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey, "DD_SITE": "https://app.us3.datadoghq.com/"},
			want: Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: "https://api.us3.datadoghq.com"},
		},
		{
			name:   "env keys, trimmed; an explicit address over DD_SITE",
			env:    map[string]string{"DD_API_KEY": " " + envAPIKey + "\n", "DD_APP_KEY": envAppKey, "DD_SITE": "datadoghq.eu"},
			cfg:    CredentialConfig{Address: "http://127.0.0.1:8126/"},
			want:   Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: "http://127.0.0.1:8126"},
			source: "keys from DD_API_KEY and DD_APP_KEY, address http://127.0.0.1:8126 from datadog.address",
		},
		{
			// An EU user with keys in their shell and the address in the
			// Secret: the Secret's keys go to the Secret's address.
			name:   "the configured secret wins over env keys, with its own address",
			env:    map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey},
			secret: secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey, "address": "https://api.datadoghq.eu"}),
			cfg:    CredentialConfig{Secret: ref},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: "https://api.datadoghq.eu"},
			source: "keys from Secret roost/datadog (datadog.secret), site datadoghq.eu from the Secret's address; DD_API_KEY/DD_APP_KEY not used: datadog.secret wins",
		},
		{
			name:   "DD_SITE as metrics.Load folds it in, pasted as the web app's host",
			env:    map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey, "DD_SITE": "app.datadoghq.eu"},
			cfg:    CredentialConfig{Site: "datadoghq.eu", Address: "https://api.datadoghq.eu"},
			want:   Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: "https://api.datadoghq.eu"},
			source: "keys from DD_API_KEY and DD_APP_KEY, site datadoghq.eu from DD_SITE",
		},
		{
			name:   "Argo Rollouts' Secret, found without any configuration",
			secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argo-rollouts", Name: "datadog"}, Data: map[string][]byte{"api-key": []byte(secretAPIKey), "app-key": []byte(secretAppKey)}},
			cfg:    CredentialConfig{Fallbacks: []metrics.SecretRef{{Namespace: "roost-system", Name: "datadog"}, ArgoSecret}},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: DefaultAddress},
			source: "keys from Secret argo-rollouts/datadog, site datadoghq.com from the default",
		},
		{
			name:   "Argo Rollouts' Secret and DD_SITE",
			env:    map[string]string{"DD_SITE": "datadoghq.eu"},
			secret: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argo-rollouts", Name: "datadog"}, Data: map[string][]byte{"api-key": []byte(secretAPIKey), "app-key": []byte(secretAppKey)}},
			cfg:    CredentialConfig{Fallbacks: []metrics.SecretRef{ArgoSecret}},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: "https://api.datadoghq.eu"},
			source: "keys from Secret argo-rollouts/datadog, site datadoghq.eu from DD_SITE",
		},
		{
			name:     "no fallback Secret either",
			cfg:      CredentialConfig{Fallbacks: []metrics.SecretRef{ArgoSecret}},
			wantErr:  "DD_API_KEY and DD_APP_KEY are not set (no Secret argo-rollouts/datadog either)",
			wantKind: ErrNoCredentials,
		},
		{
			name:     "a DD_SITE that is not a site is refused, never used",
			env:      map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey, "DD_SITE": "https://app.datadoghq.eu.example/"},
			cfg:      CredentialConfig{Site: "https://app.datadoghq.eu.example/"},
			wantErr:  `is not a Datadog site`,
			wantKind: ErrBadAddress,
		},
		{
			name:   "secret only",
			secret: secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey + "\n", "address": "https://api.datadoghq.eu"}),
			cfg:    CredentialConfig{Secret: ref},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: "https://api.datadoghq.eu"},
		},
		{
			name:   "secret without address",
			secret: secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey}),
			cfg:    CredentialConfig{Secret: ref},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: DefaultAddress},
		},
		{
			name:   "half the env keys fall back to the secret",
			env:    map[string]string{"DD_API_KEY": envAPIKey},
			secret: secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey}),
			cfg:    CredentialConfig{Secret: ref},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: DefaultAddress},
		},
		{
			name:   "the configured site wins over the secret's address",
			secret: secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey, "address": "https://api.datadoghq.eu"}),
			cfg:    CredentialConfig{Secret: ref, Site: "us5.datadoghq.com"},
			want:   Credentials{APIKey: secretAPIKey, AppKey: secretAppKey, Address: "https://api.us5.datadoghq.com"},
		},
		{
			name:     "nothing",
			wantErr:  "Datadog: DD_API_KEY and DD_APP_KEY are not set; set them, or name a Secret with api-key and app-key in datadog.secret of ~/.config/roost/config.yaml",
			wantKind: ErrNoCredentials,
		},
		{
			name:     "missing app key",
			env:      map[string]string{"DD_API_KEY": envAPIKey},
			wantErr:  "Datadog: DD_APP_KEY is not set; set it (DD_API_KEY is set), or name a Secret with api-key and app-key in datadog.secret of ~/.config/roost/config.yaml",
			wantKind: ErrNoCredentials,
		},
		{
			name:     "missing API key",
			env:      map[string]string{"DD_APP_KEY": envAppKey},
			wantErr:  "Datadog: DD_API_KEY is not set; set it (DD_APP_KEY is set)",
			wantKind: ErrNoCredentials,
		},
		{
			name:     "secret absent",
			cfg:      CredentialConfig{Secret: ref},
			wantErr:  "Datadog: secret roost/datadog not found; create it with keys api-key and app-key (kubectl create secret generic datadog -n roost",
			wantKind: ErrSecretNotFound,
		},
		{
			name:     "secret without app-key",
			secret:   secret(map[string]string{"api-key": secretAPIKey, "address": "https://api.datadoghq.eu"}),
			cfg:      CredentialConfig{Secret: ref},
			wantErr:  "Datadog: secret roost/datadog has no key app-key; add it (api-key and app-key are required, address is optional)",
			wantKind: ErrSecretKeyMissing,
		},
		{
			name:     "secret with an empty api-key",
			secret:   secret(map[string]string{"api-key": "  \n", "app-key": secretAppKey}),
			cfg:      CredentialConfig{Secret: ref},
			wantErr:  "Datadog: secret roost/datadog has an empty api-key",
			wantKind: ErrSecretKeyMissing,
		},
		{
			name:     "secret forbidden",
			kube:     forbidden(),
			cfg:      CredentialConfig{Secret: ref},
			wantErr:  "Datadog: forbidden to read secret roost/datadog: ask for get on secrets in roost, or set DD_API_KEY and DD_APP_KEY",
			wantKind: ErrSecretForbidden,
		},
		{
			name:     "secret with a bad address",
			secret:   secret(map[string]string{"api-key": secretAPIKey, "app-key": secretAppKey, "address": "api.datadoghq.eu"}),
			cfg:      CredentialConfig{Secret: ref},
			wantErr:  `Datadog: secret roost/datadog: address "api.datadoghq.eu" is not an http or https URL`,
			wantKind: ErrBadAddress,
		},
		{
			name:     "secret without a namespace",
			cfg:      CredentialConfig{Secret: metrics.SecretRef{Name: "datadog"}},
			wantErr:  "needs both a namespace and a name",
			wantKind: ErrNoCredentials,
		},
		{
			name:     "unknown DD_SITE",
			env:      map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey, "DD_SITE": "datadog.example.com"},
			wantErr:  `Datadog: DD_SITE "datadog.example.com" is not a Datadog site (datadoghq.com, us3.datadoghq.com`,
			wantKind: ErrBadAddress,
		},
		{
			name:     "bad explicit address",
			env:      map[string]string{"DD_API_KEY": envAPIKey, "DD_APP_KEY": envAppKey},
			cfg:      CredentialConfig{Address: "https://user:pw@proxy.example"},
			wantErr:  "holds a user name or password",
			wantKind: ErrBadAddress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := tt.kube
			if kube == nil {
				kube = fake.NewClientset()
				if tt.secret != nil {
					kube = fake.NewClientset(tt.secret)
				}
			}
			cfg := tt.cfg
			cfg.Kube = kube
			cfg.Getenv = func(k string) string { return tt.env[k] }
			got, err := ResolveCredentials(context.Background(), cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !errors.Is(err, tt.wantKind) {
					t.Errorf("error %v does not wrap %v", err, tt.wantKind)
				}
				for _, k := range []string{envAPIKey, envAppKey, secretAPIKey, secretAppKey} {
					if strings.Contains(err.Error(), k) {
						t.Errorf("the error shows a key")
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveCredentials: %v", err)
			}
			source := got.Source
			got.Source = ""
			if got != tt.want {
				t.Errorf("got %#v at %s, want %#v at %s (keys compared, not shown)", got, got.Address, tt.want, tt.want.Address)
			}
			if !strings.Contains(source, tt.source) || !strings.HasPrefix(source, "keys from ") {
				t.Errorf("source %q, want one containing %q", source, tt.source)
			}
		})
	}
}

func TestResolveCredentialsWithoutCluster(t *testing.T) {
	_, err := ResolveCredentials(context.Background(), CredentialConfig{
		Secret: metrics.SecretRef{Namespace: "roost", Name: "datadog"},
		Getenv: func(string) string { return "" },
	})
	if err == nil || !strings.Contains(err.Error(), "no cluster connection") {
		t.Errorf("error %v", err)
	}
}

func TestCredentialsNeverShowKeys(t *testing.T) {
	c := Credentials{APIKey: envAPIKey, AppKey: envAppKey, Address: "https://api.datadoghq.eu"}
	var shown []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10.3v"} {
		shown = append(shown, fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, []Credentials{c}))
	}
	shown = append(shown, c.String(), c.GoString(), fmt.Sprint(struct{ C Credentials }{c}))
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(b))
	for _, s := range shown {
		if strings.Contains(s, envAPIKey) || strings.Contains(s, envAppKey) {
			t.Errorf("a key shows in %q", s)
		}
	}
	if s := c.String(); s != "Datadog at https://api.datadoghq.eu (API key set, application key set)" {
		t.Errorf("String() = %q", s)
	}
	if s := (Credentials{Address: DefaultAddress}).String(); !strings.Contains(s, "API key not set") {
		t.Errorf("String() of no keys = %q", s)
	}
	if s := fmt.Sprintf("%#v", c); !strings.Contains(s, `APIKey:"<redacted>"`) {
		t.Errorf("%%#v = %s", s)
	}
}

func TestSiteAddress(t *testing.T) {
	tests := map[string]string{
		"datadoghq.com":              "https://api.datadoghq.com",
		"us3.datadoghq.com":          "https://api.us3.datadoghq.com",
		"US5.DATADOGHQ.COM":          "https://api.us5.datadoghq.com",
		"datadoghq.eu":               "https://api.datadoghq.eu",
		"app.datadoghq.eu":           "https://api.datadoghq.eu",
		"api.ap1.datadoghq.com":      "https://api.ap1.datadoghq.com",
		"https://app.datadoghq.com/": "https://api.datadoghq.com",
		"ddog-gov.com":               "https://api.ddog-gov.com",
		"uk1.datadoghq.com":          "https://api.uk1.datadoghq.com",
		"datadoghq.com.evil.example": "",
		"localhost:8080":             "",
	}
	for site, want := range tests {
		got, err := siteAddress(site, "DD_SITE")
		if got != want || (want == "") != (err != nil) {
			t.Errorf("siteAddress(%q) = %q, %v; want %q", site, got, err, want)
		}
	}
}
