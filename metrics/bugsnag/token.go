package bugsnag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/roost-dev/roost/metrics"
)

// Where roost finds the personal auth token.
const (
	// TokenEnv is the environment variable that holds the token.
	TokenEnv = "BUGSNAG_AUTH_TOKEN"
	// SecretKey is the key of the token in a Kubernetes Secret.
	SecretKey = "auth-token"
)

// Errors LoadToken wraps, so that a caller can tell the cases apart.
var (
	ErrNoToken          = errors.New("no Bugsnag auth token")
	ErrSecretNotFound   = errors.New("secret not found")
	ErrSecretKeyMissing = errors.New("secret key missing")
	ErrSecretForbidden  = errors.New("secret forbidden")
)

// Token is a Bugsnag personal auth token. However it is printed or
// marshalled, it reads [redacted]: only the request header carries it.
type Token string

const redacted = "[redacted]"

// Format prints every verb of fmt as [redacted].
func (Token) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText makes JSON and YAML write [redacted].
func (Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// configHint is where a user names the Secret, for error messages.
const configHint = "bugsnag.secret of ~/.config/roost/config.yaml"

// LoadToken returns the auth token from the environment variable
// BUGSNAG_AUTH_TOKEN (read with getenv, os.Getenv when nil) when it is set,
// so that one person can use their own token for a session; otherwise from
// the Secret (key auth-token), read through kube. Surrounding white space is dropped: a token
// pasted from a file often ends in a newline.
func LoadToken(ctx context.Context, getenv func(string) string, kube kubernetes.Interface, secret metrics.SecretRef) (Token, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if t := strings.TrimSpace(getenv(TokenEnv)); t != "" {
		return Token(t), nil
	}
	if secret.IsZero() {
		return "", fmt.Errorf("%w: set %s, or name a Secret with the key %s in %s; make a personal auth token in Bugsnag under Settings > My account > Personal auth tokens",
			ErrNoToken, TokenEnv, SecretKey, configHint)
	}
	if secret.Namespace == "" || secret.Name == "" {
		return "", fmt.Errorf("%w: the Secret %q in %s needs both a namespace and a name", ErrNoToken, secret.String(), configHint)
	}
	if kube == nil {
		return "", fmt.Errorf("%w: Secret %s is configured but there is no cluster connection to read it; set %s instead", ErrNoToken, secret, TokenEnv)
	}
	s, err := kube.CoreV1().Secrets(secret.Namespace).Get(ctx, secret.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%w: the Bugsnag auth token's Secret %s does not exist: create it with `kubectl create secret generic %s -n %s --from-literal=%s=<token>`, or set %s",
			ErrSecretNotFound, secret, secret.Name, secret.Namespace, SecretKey, TokenEnv)
	case apierrors.IsForbidden(err):
		return "", fmt.Errorf("%w: you may not read the Bugsnag auth token's Secret %s (%w): ask for get on secrets in namespace %s, or set %s",
			ErrSecretForbidden, secret, err, secret.Namespace, TokenEnv)
	case err != nil:
		return "", fmt.Errorf("reading the Bugsnag auth token's Secret %s: %w", secret, err)
	}
	value, ok := s.Data[SecretKey]
	if !ok {
		if v, inString := s.StringData[SecretKey]; inString {
			value, ok = []byte(v), true
		}
	}
	if !ok {
		keys := slices.Sorted(maps.Keys(s.Data))
		return "", fmt.Errorf("%w: Secret %s has no key %s (its keys: %s): add the token under %s, or set %s",
			ErrSecretKeyMissing, secret, SecretKey, keyList(keys), SecretKey, TokenEnv)
	}
	t := strings.TrimSpace(string(value))
	if t == "" {
		return "", fmt.Errorf("%w: key %s of Secret %s is empty: put the token there, or set %s",
			ErrSecretKeyMissing, SecretKey, secret, TokenEnv)
	}
	return Token(t), nil
}

func keyList(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}
