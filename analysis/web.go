package analysis

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"k8s.io/client-go/util/jsonpath"

	"github.com/roost-dev/roost/api/v1alpha1"
)

const (
	// DefaultWebTimeout is how long a web metric's request may take when
	// neither the metric (timeoutSeconds) nor WebOptions says otherwise,
	// as in Argo Rollouts.
	DefaultWebTimeout = 10 * time.Second
	// DefaultWebMaxBodyBytes is the most of an answer a web metric reads.
	DefaultWebMaxBodyBytes = 1 << 20
	// webDefaultJSONPath is the whole answer.
	webDefaultJSONPath = "{$}"
	// webValueLimit is the most of a result kept as a measurement's Value:
	// a run keeps up to ten measurements per metric in its status, which
	// has to fit in one object.
	webValueLimit = 8 << 10
	// webSnippetRead and webSnippetLimit bound what an error quotes from
	// the answer of a failed request.
	webSnippetRead  = 4 << 10
	webSnippetLimit = 200
	// webMasked replaces a header value wherever it would be shown.
	webMasked = "*****"
)

// WebOptions configures a WebProvider. The zero value is ready to use.
type WebOptions struct {
	// Transport sends the requests of metrics that verify TLS. A clone of
	// http.DefaultTransport when nil.
	Transport http.RoundTripper
	// InsecureTransport sends the requests of metrics with insecure: true,
	// and only those. When nil it is a clone of Transport (when Transport
	// is an *http.Transport) or of http.DefaultTransport, with TLS
	// verification off.
	InsecureTransport http.RoundTripper
	// Timeout is how long a request may take, answer included, when the
	// metric sets no timeoutSeconds; DefaultWebTimeout when zero.
	Timeout time.Duration
	// MaxBodyBytes is the most of an answer read; DefaultWebMaxBodyBytes
	// when zero. A longer answer is an error.
	MaxBodyBytes int64
}

// WebProvider measures Argo Rollouts' web metrics: one HTTP request per
// measurement, whose answer is read at the metric's jsonPath.
//
// The request is a GET unless the metric says POST or PUT, which may carry
// body (sent as is) or jsonBody (sent with Content-Type application/json
// unless the metric's headers set one). The metric's headers are sent as
// given (Host sets the request's host); timeoutSeconds bounds the whole
// exchange (10 s by default); insecure skips TLS verification for that
// metric only.
//
// The answer: a status outside 2xx (429 included, as in Argo Rollouts) is an
// error that quotes the start of the answer and says what to check. A JSON answer is read at jsonPath, a
// Kubernetes JSONPath ("{$}", the whole answer, by default): the first
// match is the result the conditions see (a float64, string, bool,
// map[string]any or []any) and its JSON is the Value. A path that matches
// nothing (a missing key, an index past the end of a list), like an empty
// answer, is no data: a nil result, an empty Value and a "note" in the
// metadata saying why.
//
// An answer that is not JSON differs from Argo Rollouts v1.8 and v1.9, which
// mark such a measurement Successful without evaluating the conditions, so
// that an HTML error page or a plain "FAIL" from a service passes the
// canary. roost does what Argo Rollouts does after v1.9: the result is the
// answer's text (surrounding white space removed), and the conditions judge
// it (`result == "OK"`); the metadata notes that jsonPath was not applied.
//
// The metric's header values often carry credentials: they never appear in
// an error, a Value or the metadata. Where the answer echoes one (a value
// of 8 bytes or more, a word of 8 bytes or more in it, or a value of 4 bytes
// or more of a header whose name suggests a credential), it is shown as
// *****, even when it is no secret (Accept: application/json).
// A URL in a message shows its query's names, never their values.
type WebProvider struct {
	secure, insecure http.RoundTripper
	timeout          time.Duration
	maxBody          int64
}

var _ Provider = (*WebProvider)(nil)

// NewWebProvider returns a web provider with opts.
func NewWebProvider(opts WebOptions) *WebProvider {
	p := &WebProvider{
		secure:   opts.Transport,
		insecure: opts.InsecureTransport,
		timeout:  opts.Timeout,
		maxBody:  opts.MaxBodyBytes,
	}
	if p.secure == nil {
		p.secure = webDefaultTransport()
	}
	if p.insecure == nil {
		var t *http.Transport
		if base, ok := p.secure.(*http.Transport); ok {
			t = base.Clone()
		} else {
			t = webDefaultTransport()
		}
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.InsecureSkipVerify = true
		p.insecure = t
	}
	if p.timeout <= 0 {
		p.timeout = DefaultWebTimeout
	}
	if p.maxBody <= 0 {
		p.maxBody = DefaultWebMaxBodyBytes
	}
	return p
}

// webDefaultTransport is a transport of the provider's own, configured as
// net/http's default one (proxy from the environment, HTTP/2, timeouts).
func webDefaultTransport() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second, MaxIdleConns: 100}
}

// Measure sends the metric's request and reads its answer. It returns
// within ctx and within the metric's timeout.
func (p *WebProvider) Measure(ctx context.Context, _ *v1alpha1.AnalysisRun, m v1alpha1.Metric, _ time.Time) Reading {
	w := m.Provider.Web
	if w == nil {
		return Reading{Err: fmt.Errorf("metric %q has no web provider; give it provider.web with a url", m.Name)}
	}
	return webMaskOf(w.Headers).reading(p.measure(ctx, w))
}

// timeoutFor is how long w's request may take.
func (p *WebProvider) timeoutFor(w *v1alpha1.WebMetric) time.Duration {
	if w.TimeoutSeconds > 0 {
		return time.Duration(w.TimeoutSeconds) * time.Second
	}
	return p.timeout
}

func (p *WebProvider) measure(ctx context.Context, w *v1alpha1.WebMetric) Reading {
	path := w.JSONPath
	if path == "" {
		path = webDefaultJSONPath
	}
	// A JSONPath keeps state while it runs: each measurement parses its own.
	jp, err := webParseJSONPath(path)
	if err != nil {
		return Reading{Err: err}
	}
	timeout := p.timeoutFor(w)
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, shown, err := webRequest(reqCtx, w)
	if err != nil {
		return Reading{Err: err}
	}
	transport := p.secure
	if w.Insecure {
		transport = p.insecure
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return Reading{Err: webSendError(ctx, reqCtx, shown, timeout, w, err)}
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, webSnippetRead))
		return Reading{Err: webStatusError(resp, shown, head)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBody+1))
	if err != nil {
		return Reading{Err: webSendError(ctx, reqCtx, shown, timeout, w, fmt.Errorf("reading the answer: %w", err))}
	}
	if int64(len(body)) > p.maxBody {
		return Reading{Err: fmt.Errorf("the answer of %s is larger than %s, the most roost reads of a web metric; use an endpoint or a query that returns less, such as the one value the conditions judge", shown, webSize(p.maxBody))}
	}
	return webRead(body, path, jp)
}

// webParseJSONPath parses a metric's jsonPath, refusing one that is not a
// JSONPath or that holds no {…} expression (it would only ever match its
// own text).
func webParseJSONPath(path string) (*jsonpath.JSONPath, error) {
	parsed, err := jsonpath.Parse("jsonPath", path)
	if err != nil {
		return nil, fmt.Errorf("web.jsonPath %q is not a valid JSONPath: %v; write it as kubectl -o jsonpath does, such as {$.data.ok}", path, err)
	}
	expression := false
	for _, n := range parsed.Root.Nodes {
		if n.Type() != jsonpath.NodeText {
			expression = true
		}
	}
	if !expression {
		return nil, fmt.Errorf("web.jsonPath %q has no {…} expression, so it matches nothing in the answer; put the path in braces, such as {%s}", path, strings.TrimSpace(path))
	}
	jp := jsonpath.New("jsonPath").AllowMissingKeys(true)
	if err := jp.Parse(path); err != nil {
		return nil, fmt.Errorf("web.jsonPath %q is not a valid JSONPath: %v; write it as kubectl -o jsonpath does, such as {$.data.ok}", path, err)
	}
	return jp, nil
}

// webRequest builds w's request. shown is how messages name it: the method
// and the URL without credentials or query values.
func webRequest(ctx context.Context, w *v1alpha1.WebMetric) (req *http.Request, shown string, err error) {
	method := w.Method
	if method == "" {
		method = v1alpha1.WebMetricMethodGet
	}
	switch method {
	case v1alpha1.WebMetricMethodGet, v1alpha1.WebMetricMethodPost, v1alpha1.WebMetricMethodPut:
	default:
		return nil, "", fmt.Errorf("web.method %q is not one roost sends; use GET, POST or PUT", method)
	}

	if strings.TrimSpace(w.URL) == "" {
		return nil, "", errors.New("web.url is empty; give the full http:// or https:// address to query")
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("web.url is not a valid URL (%v); give the full http:// or https:// address to query", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", fmt.Errorf("web.url must be an http:// or https:// address, not %q; give the full address to query", webScheme(u.Scheme))
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("web.url %s names no host; give the full address, such as http://service.namespace:8080/path", webURL(u))
	}
	shown = string(method) + " " + webURL(u)

	if w.Body != "" && len(w.JSONBody) > 0 {
		return nil, "", errors.New("web.body and web.jsonBody are both set; keep one: body is sent as is, jsonBody as JSON")
	}
	var body io.Reader
	switch {
	case w.Body != "":
		if method == v1alpha1.WebMetricMethodGet {
			return nil, "", errors.New("web.body is set but the method is GET, which sends no body; set web.method to POST or PUT, or remove web.body")
		}
		body = strings.NewReader(w.Body)
	case len(w.JSONBody) > 0:
		if method == v1alpha1.WebMetricMethodGet {
			return nil, "", errors.New("web.jsonBody is set but the method is GET, which sends no body; set web.method to POST or PUT, or remove web.jsonBody")
		}
		if !json.Valid(w.JSONBody) {
			return nil, "", errors.New("web.jsonBody is not valid JSON; write it as a YAML or JSON value, or send text with web.body")
		}
		body = bytes.NewReader(w.JSONBody)
	}

	req, err = http.NewRequestWithContext(ctx, string(method), u.String(), body)
	if err != nil {
		return nil, "", fmt.Errorf("could not build the request %s: %v; check web.url and web.method", shown, err)
	}
	for i, h := range w.Headers {
		if !webToken(h.Key) {
			return nil, "", fmt.Errorf("web.headers[%d] has the key %q, which is not a valid header name; use letters, digits and -", i, h.Key)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			return nil, "", fmt.Errorf("web.headers[%d] (%s) has a value with a line break or a NUL byte, which HTTP does not allow; remove it", i, h.Key)
		}
		if strings.EqualFold(h.Key, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Key, h.Value)
	}
	if len(w.JSONBody) > 0 && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, shown, nil
}

// webSendError says why a request got no answer, or its answer could not
// be read.
func webSendError(ctx, reqCtx context.Context, shown string, timeout time.Duration, w *v1alpha1.WebMetric, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the whole URL, query values included.
		err = ue.Err
	}
	var certErr *tls.CertificateVerificationError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("the measurement was stopped before %s answered: %w", shown, ctx.Err())
	case errors.Is(reqCtx.Err(), context.DeadlineExceeded):
		how := fmt.Sprintf("set web.timeoutSeconds (the default is %s)", timeout)
		if w.TimeoutSeconds > 0 {
			how = fmt.Sprintf("raise web.timeoutSeconds (%d)", w.TimeoutSeconds)
		}
		return fmt.Errorf("%s did not answer within %s; check that the service is up and answers quickly, or %s", shown, timeout, how)
	case errors.As(err, &certErr):
		return fmt.Errorf("%s failed: could not verify the server's TLS certificate (%v); make the server present a certificate roost trusts, or set web.insecure: true to skip verification for a service you trust", shown, certErr.Err)
	}
	return fmt.Errorf("%s failed: %v; check web.url and that the service is reachable from roost", shown, err)
}

// webStatusError says that the answer was not a success, quotes its start
// and says what to check.
func webStatusError(resp *http.Response, shown string, head []byte) error {
	var what string
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		what = "check the credentials the metric sends in web.headers"
	case code == http.StatusNotFound:
		what = "check web.url"
	case code == http.StatusMethodNotAllowed:
		what = "check web.method"
	case code == http.StatusTooManyRequests:
		what = "the service asks for fewer requests; raise the metric's interval"
	case code >= 500 || code == http.StatusRequestTimeout:
		what = "the service failed; roost measures again, and if this persists check the service"
	case code >= 400:
		what = "the service refused the request; check web.url, web.headers and the body the metric sends"
	default:
		what = "check web.url and that it leads to the service"
	}
	msg := fmt.Sprintf("received non 2xx response code: %d from %s", resp.StatusCode, shown)
	if s := webSnippet(head, resp.Header.Get("Content-Type")); s != "" {
		msg += ` (the answer begins "` + s + `")`
	}
	return errors.New(msg + "; " + what)
}

// webRead reads a success's body at path.
func webRead(body []byte, path string, jp *jsonpath.JSONPath) Reading {
	if len(bytes.TrimSpace(body)) == 0 {
		return Reading{Metadata: map[string]string{"note": "the answer was empty: no data"}}
	}
	var data any
	if err := json.Unmarshal(body, &data); err != nil {
		text := strings.TrimSpace(string(body))
		note := "the answer is not JSON: the result is its text, for the conditions to judge"
		if path != webDefaultJSONPath {
			note += "; web.jsonPath " + path + " was not applied"
		}
		r := Reading{Result: text, Metadata: map[string]string{"note": note}}
		var cut string
		if r.Value, cut = webKeep(text); cut != "" {
			r.Metadata["value_truncated"] = cut
		}
		return r
	}
	match, found, err := webFirstMatch(jp, data)
	if err != nil {
		return Reading{Err: fmt.Errorf("web.jsonPath %s could not be applied to the answer: %v; check the path against what the service returns", path, err)}
	}
	if !found {
		return Reading{Metadata: map[string]string{"note": "web.jsonPath " + path + " matched nothing in the answer: no data"}}
	}
	value, err := webJSON(match)
	if err != nil {
		return Reading{Err: fmt.Errorf("the value at web.jsonPath %s could not be written as JSON: %v", path, err)}
	}
	r := Reading{Result: match}
	var cut string
	if r.Value, cut = webKeep(value); cut != "" {
		r.Metadata = map[string]string{"value_truncated": cut}
	}
	return r
}

// webFirstMatch runs jp on data and returns its first match. An index past
// the end of a list is no match, as a missing key is.
func webFirstMatch(jp *jsonpath.JSONPath, data any) (match any, found bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			match, found, err = nil, false, fmt.Errorf("%v", r)
		}
	}()
	results, err := jp.FindResults(data)
	if err != nil {
		if strings.Contains(err.Error(), "array index out of bounds") {
			return nil, false, nil
		}
		return nil, false, err
	}
	for _, set := range results {
		for _, v := range set {
			if !v.IsValid() {
				continue
			}
			if v.Kind() == reflect.Interface && v.IsNil() {
				return nil, true, nil
			}
			return v.Interface(), true, nil
		}
	}
	return nil, false, nil
}

// webJSON is v as compact JSON, with <, > and & left as they are.
func webJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// webKeep returns value cut to webValueLimit and, when it cuts, a note
// that says so.
func webKeep(value string) (kept, note string) {
	if len(value) <= webValueLimit {
		return value, ""
	}
	cut := webValueLimit
	for cut > 0 && !utf8.RuneStart(value[cut]) {
		cut--
	}
	note = fmt.Sprintf("the value is %d bytes; the measurement keeps the first %d, the conditions saw all of it", len(value), webValueLimit)
	return value[:cut] + "…", note
}

// webSnippet is the start of an answer, fit for one line of a message: the
// text of an HTML page without its tags, white space and unprintable
// characters as single spaces, at most webSnippetLimit characters.
func webSnippet(head []byte, contentType string) string {
	s := strings.ToValidUTF8(string(head), "\uFFFD")
	if strings.Contains(strings.ToLower(contentType), "html") || strings.HasPrefix(strings.TrimSpace(s), "<") {
		var b strings.Builder
		in := false
		for _, r := range s {
			switch {
			case r == '<':
				in = true
				b.WriteRune(' ')
			case r == '>' && in:
				in = false
			case !in:
				b.WriteRune(r)
			}
		}
		s = b.String()
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if utf8.RuneCountInString(s) > webSnippetLimit {
		s = string([]rune(s)[:webSnippetLimit]) + "…"
	}
	return s
}

// webURL is u for a message: no user or password, no fragment, and the
// query's names without their values.
func webURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	query := c.RawQuery
	c.RawQuery, c.ForceQuery = "", false
	s := c.String()
	if query == "" {
		return s
	}
	var parts []string
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		parts = append(parts, url.QueryEscape(name)+"=…")
	}
	return s + "?" + strings.Join(parts, "&")
}

// webScheme is a URL's scheme for a message, cut short.
func webScheme(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// webSize says n bytes in MiB or KiB when it is a whole number of them.
func webSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// webToken says whether s is a valid HTTP header name.
func webToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// webMask hides a metric's header values: the strings to replace, longest
// first.
type webMask []string

// webCredentialWords are parts of header names that carry credentials.
var webCredentialWords = []string{"auth", "token", "key", "secret", "pass", "cookie", "session", "signature", "credential"}

// webMaskOf is the mask of headers: every value of 8 bytes or more, every
// word of 8 bytes or more in a value, every value of 4 bytes or more of a
// header whose name suggests a credential; each also as it reads inside a
// JSON string.
func webMaskOf(headers []v1alpha1.WebMetricHeader) webMask {
	seen := map[string]bool{}
	var m webMask
	add := func(s string) {
		forms := []string{s}
		if quoted, err := webJSON(s); err == nil {
			forms = append(forms, strings.TrimSuffix(strings.TrimPrefix(quoted, `"`), `"`))
		}
		for _, f := range forms {
			if f != "" && !seen[f] {
				seen[f] = true
				m = append(m, f)
			}
		}
	}
	for _, h := range headers {
		credential := false
		name := strings.ToLower(h.Key)
		for _, w := range webCredentialWords {
			if strings.Contains(name, w) {
				credential = true
			}
		}
		if len(h.Value) >= 8 || (credential && len(h.Value) >= 4) {
			add(h.Value)
		}
		for _, word := range strings.Fields(h.Value) {
			if len(word) >= 8 {
				add(word)
			}
		}
	}
	sort.SliceStable(m, func(i, j int) bool { return len(m[i]) > len(m[j]) })
	return m
}

// hide replaces the mask's strings in s.
func (m webMask) hide(s string) string {
	for _, secret := range m {
		s = strings.ReplaceAll(s, secret, webMasked)
	}
	return s
}

// reading hides the mask's strings in r's error, Value, metadata and
// reason; Result, which is never stored, stays as read.
func (m webMask) reading(r Reading) Reading {
	if len(m) == 0 {
		return r
	}
	if r.Err != nil {
		if text := m.hide(r.Err.Error()); text != r.Err.Error() {
			r.Err = errors.New(text)
		}
	}
	r.Value = m.hide(r.Value)
	r.Reason = m.hide(r.Reason)
	if r.Metadata != nil {
		md := make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			md[m.hide(k)] = m.hide(v)
		}
		r.Metadata = md
	}
	return r
}
