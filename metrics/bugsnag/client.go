package bugsnag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roost-dev/roost/metrics"
)

// Defaults of Options.
const (
	DefaultAddress  = "https://api.bugsnag.com"
	DefaultTimeout  = 10 * time.Second
	DefaultPageSize = 100
	DefaultMaxPages = 10
)

// Release stages of ErrorQuery left empty.
const (
	defaultCanaryStage = "canary"
	defaultStableStage = "stable"
)

// maxPageSize is the most errors Bugsnag returns a page.
const maxPageSize = 100

// maxPageBytes bounds one page's body; a full page is some 100 kB.
const maxPageBytes = 4 << 20

// source names Bugsnag in every metrics.SourceError.
const source = "Bugsnag"

// projectPattern is what may stand in the path as a project id. Bugsnag's
// are 24 hex characters; a proxy's or a test server's may differ.
var projectPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)

// Options configure a Client.
type Options struct {
	// Token is the personal auth token (see LoadToken).
	Token Token
	// Address is the Data Access API's base address (DefaultAddress), or
	// another that speaks it: a proxy, roost's demo server.
	Address string
	// Timeout bounds one CanaryErrors call, every page included
	// (DefaultTimeout).
	Timeout time.Duration
	// PageSize is how many errors to ask for a page, at most 100
	// (DefaultPageSize); MaxPages bounds the pages of one call
	// (DefaultMaxPages): the most recently seen errors come first, so what
	// is cut is the oldest.
	PageSize int
	MaxPages int
	// Now is the clock that reads Retry-After dates (default time.Now).
	Now func() time.Time
	// HTTPClient sends the requests (default a new http.Client).
	HTTPClient *http.Client
}

// Client lists canary errors. It implements metrics.ErrorSource and is safe
// for concurrent use.
type Client struct {
	token    Token
	base     *url.URL
	timeout  time.Duration
	pageSize int
	maxPages int
	now      func() time.Time
	http     *http.Client

	// dashboards holds each project's address in Bugsnag's dashboard
	// (its html_url), once Bugsnag said it.
	mu         sync.Mutex
	dashboards map[string]string
}

var (
	_ metrics.ErrorSource       = (*Client)(nil)
	_ metrics.ErrorDetailSource = (*Client)(nil)
	_ metrics.ErrorDashboard    = (*Client)(nil)
)

// New checks opts and returns a client.
func New(opts Options) (*Client, error) {
	if strings.TrimSpace(string(opts.Token)) == "" {
		return nil, fmt.Errorf("%w: set %s, or name a Secret with the key %s in %s", ErrNoToken, TokenEnv, SecretKey, configHint)
	}
	address := opts.Address
	if address == "" {
		address = DefaultAddress
	}
	base, err := url.Parse(strings.TrimSuffix(address, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("bugsnag address %q: want an absolute http or https address without a query, such as %s", address, DefaultAddress)
	}
	c := &Client{
		token:    opts.Token,
		base:     base,
		timeout:  opts.Timeout,
		pageSize: opts.PageSize,
		maxPages: opts.MaxPages,
		now:      opts.Now,
		http:     opts.HTTPClient,

		dashboards: map[string]string{},
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.pageSize == 0 {
		c.pageSize = DefaultPageSize
	}
	if c.maxPages == 0 {
		c.maxPages = DefaultMaxPages
	}
	switch {
	case c.timeout < 0:
		return nil, fmt.Errorf("bugsnag timeout %v: want a positive duration such as 10s", c.timeout)
	case c.pageSize < 0 || c.pageSize > maxPageSize:
		return nil, fmt.Errorf("bugsnag page size %d: Bugsnag returns 1 to %d errors a page", c.pageSize, maxPageSize)
	case c.maxPages < 0:
		return nil, fmt.Errorf("bugsnag max pages %d: want 1 or more", c.maxPages)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	return c, nil
}

// String names the API the client reads, never its token.
func (c *Client) String() string { return "Bugsnag Data Access API at " + c.base.String() }

// GoString is String, so that %#v does not print the token either.
func (c *Client) GoString() string { return c.String() }

// CanaryErrors lists the errors of q.CanaryStage since q.Since, following
// Bugsnag's pages, most recently seen first, each marked New when its
// release stages lack q.StableStage. A failure of any page fails the call:
// a partial list would read as fewer errors than there are.
func (c *Client) CanaryErrors(ctx context.Context, q metrics.ErrorQuery) ([]metrics.Error, error) {
	canary, stable := q.CanaryStage, q.StableStage
	if canary == "" {
		canary = defaultCanaryStage
	}
	if stable == "" {
		stable = defaultStableStage
	}
	switch {
	case q.Project == "":
		return nil, &metrics.SourceError{Source: source, Permanent: true, Reason: fmt.Sprintf(
			"no Bugsnag project: set bugsnag.project in ~/.config/roost/config.yaml, or annotate the Rollout with %s=<project id>", metrics.AnnotationBugsnagProject)}
	case !projectPattern.MatchString(q.Project):
		return nil, &metrics.SourceError{Source: source, Permanent: true, Reason: fmt.Sprintf(
			"%q is not a Bugsnag project id: copy the id (24 hex characters) from the project's settings", q.Project)}
	}
	if q.Since.IsZero() {
		return nil, &metrics.SourceError{Source: source, Permanent: true, Reason: "no canary start time to list errors since"}
	}

	// The call ends at the timeout, or at the caller's deadline when that
	// comes first: either is a timeout to the person waiting.
	limit := c.timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < limit {
		limit = time.Until(d).Round(10 * time.Millisecond)
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	next := c.base.JoinPath("projects", q.Project, "errors")
	next.RawQuery = errorsQuery(c.pageSize, canary, q.Since)

	out := []metrics.Error{}
	seen := map[string]bool{}
	for page := 0; next != nil && page < c.maxPages; page++ {
		items, link, err := c.fetchPage(callCtx, next, q.Project, limit)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			// Offset pages shift when errors arrive between two requests:
			// an error may come twice.
			if seen[it.ID] {
				continue
			}
			seen[it.ID] = true
			out = append(out, it.toError(stable))
		}
		next = link
	}
	slices.SortStableFunc(out, func(a, b metrics.Error) int { return b.LastSeen.Compare(a.LastSeen) })
	if len(out) > 0 {
		if dash := c.dashboard(callCtx, q.Project, limit); dash != "" {
			for i := range out {
				out[i].URL = errorURL(dash, out[i].ID, canary, q.Since)
			}
		}
	}
	return out, nil
}

// get sends one GET of the Data Access API and reads its body. Any status
// but 200 is a *metrics.SourceError from statusError; limit is how long the
// call had, for a timeout's reason.
func (c *Client) get(ctx context.Context, u *url.URL, project string, limit time.Duration) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &metrics.SourceError{Source: source, Reason: "cannot build the request: " + err.Error(), Err: err}
	}
	req.Header.Set("Authorization", "token "+string(c.token))
	req.Header.Set("X-Version", "2")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "roost")

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.transportError(ctx, limit, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return nil, nil, c.transportError(ctx, limit, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, c.scrub(statusError(resp.StatusCode, resp.Header, body, project, c.now()))
	}
	if len(body) > maxPageBytes {
		return nil, nil, &metrics.SourceError{Source: source, Status: resp.StatusCode, Reason: fmt.Sprintf("unexpected response from Bugsnag: an answer of more than %d MiB", maxPageBytes>>20)}
	}
	return body, resp.Header, nil
}

// fetchPage gets one page and the next page's address (nil on the last).
// limit is how long the call had, for a timeout's reason.
func (c *Client) fetchPage(ctx context.Context, u *url.URL, project string, limit time.Duration) ([]errorItem, *url.URL, error) {
	body, header, err := c.get(ctx, u, project, limit)
	if err != nil {
		return nil, nil, err
	}
	items, err := decodePage(body)
	if err != nil {
		return nil, nil, c.scrub(&metrics.SourceError{Source: source, Status: http.StatusOK, Reason: "unexpected response from Bugsnag: " + err.Error(), Err: err})
	}
	link, err := c.nextPage(u, header.Values("Link"))
	if err != nil {
		return nil, nil, &metrics.SourceError{Source: source, Status: http.StatusOK, Reason: "unexpected response from Bugsnag: " + err.Error(), Err: err}
	}
	return items, link, nil
}

// nextPage resolves the rel="next" link against the page it came with. It
// refuses a link to another origin: following it would hand the token to
// whoever is there.
func (c *Client) nextPage(page *url.URL, link []string) (*url.URL, error) {
	target := nextLink(link)
	if target == "" {
		return nil, nil
	}
	ref, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("the next-page link is not an address: %w", err)
	}
	next := page.ResolveReference(ref)
	if next.Scheme != c.base.Scheme || next.Host != c.base.Host {
		return nil, fmt.Errorf("the next-page link leads to %s://%s, not %s://%s; not sending the token there", next.Scheme, next.Host, c.base.Scheme, c.base.Host)
	}
	return next, nil
}

// transportError says why no response came.
func (c *Client) transportError(ctx context.Context, limit time.Duration, err error) *metrics.SourceError {
	var netErr interface{ Timeout() bool }
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &metrics.SourceError{Source: source, Reason: "stopped before Bugsnag answered: " + ctx.Err().Error(), Err: err}
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &metrics.SourceError{Source: source, Reason: "timed out after " + limit.String(), Err: err}
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return c.scrub(&metrics.SourceError{Source: source, Reason: fmt.Sprintf("cannot reach Bugsnag at %s: %v", c.base.Host, err), Err: err})
}

// scrub takes the token out of a reason made from what a server said, in case
// a proxy echoed the request.
func (c *Client) scrub(e *metrics.SourceError) *metrics.SourceError {
	e.Reason = strings.ReplaceAll(e.Reason, string(c.token), redacted)
	return e
}
