//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bugsnaggo "github.com/bugsnag/bugsnag-go/v2"

	"github.com/roost-dev/roost/internal/bugsnagserver"
)

const (
	bsProject = "5f1e2d3c4b5a69788796a5b4"
	bsKey     = "0123456789abcdef0123456789abcdef"
	bsToken   = "e2e-bugsnag-token-0123456789abcdef"
)

// lineItemError is what the canary of the test throws: a message longer
// than any line of the cockpit.
type lineItemError struct{ sku string }

func (e lineItemError) Error() string {
	return "undefined method 'price' for nil: LineItem#price called on an item whose product was deleted between the cart's load and its total; " +
		"the cart holds 3 items, 1 of them without a product (" + e.sku + ")"
}

// totalCart is the canary's failing code: the frame the error screen must
// show as the project's own.
func totalCart(n *bugsnaggo.Notifier) error {
	return n.Notify(lineItemError{sku: "sku-7781"}, bugsnaggo.Context{String: "POST /cart/items"}, bugsnaggo.User{Id: "u1"}, bugsnaggo.SeverityError)
}

// TestCockpitErrorScreenAndCopy: in a real terminal, a canary's Bugsnag
// error is opened from the errors panel (tab, enter): its full message and
// its stack's own frame are on screen, read from Bugsnag's latest event;
// C copies its summary and link through OSC 52, which tmux (set-clipboard
// on) turns into a paste buffer.
func TestCockpitErrorScreenAndCopy(t *testing.T) {
	t.Parallel()
	ns := env.NewNamespace(t)
	const name = "cart"

	bs := bugsnagserver.New(bugsnagserver.Options{
		Projects:   []bugsnagserver.Project{{ID: bsProject, Name: "Shop", APIKey: bsKey}},
		AuthTokens: []string{bsToken},
	})
	srv := httptest.NewServer(bs.Handler())
	t.Cleanup(srv.Close)
	config := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf("datadog:\n  interval: 5s\n  timeout: 4s\nbugsnag:\n  address: %s\n  project: %s\n", srv.URL, bsProject)
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	ck := startCockpit(t, ns, "cockpit", []string{"BUGSNAG_AUTH_TOKEN=" + bsToken}, "--config", config)
	if _, err := ck.tmux("set-option", "-s", "set-clipboard", "on"); err != nil {
		t.Fatalf("tmux set-clipboard on: %v", err)
	}
	ck.awaitText("you step the canaries (this roost leads as ")
	startCanary(t, ns, name, cockpitSteps())
	ck.awaitLine(name, "promote?", "2/4")

	canary := bugsnaggo.New(bugsnaggo.Configuration{
		APIKey: bsKey, ReleaseStage: "canary", AppVersion: "2.0.0",
		Endpoints:       bugsnaggo.Endpoints{Notify: srv.URL + "/notify", Sessions: srv.URL + "/sessions"},
		ProjectPackages: []string{"github.com/roost-dev/roost/**"},
		Synchronous:     true, PanicHandler: func() {}, Logger: log.New(io.Discard, "", 0),
	})
	if err := totalCart(canary); err != nil {
		t.Fatalf("bugsnag-go could not notify: %v", err)
	}
	// R polls now rather than at the next interval.
	ck.keys("R")
	ck.awaitLine("e2e.lineItemError", "1 event, 1 user")

	// At 120×40 the list and the detail share the screen: tab past the
	// pods and the metrics to the errors.
	ck.keys("Tab")
	ck.awaitText("▸ Pods")
	ck.keys("Tab")
	ck.awaitText("▸ Metrics, Datadog")
	ck.keys("Tab")
	ck.awaitText("▸ Errors, Bugsnag canary stage", "enter open error")
	ck.keys("Enter")
	screen := ck.awaitText("Error in "+ns+"/"+name, "the cart holds 3 items, 1 of them without a product (sku-7781)", "Latest event · stage canary · version 2.0.0")
	frame := lineWith(screen, "links_test.go:", "in totalCart")
	if !strings.Contains(frame, "▸ ") {
		t.Errorf("the failing frame is not shown as the project's own: %q\n%s", frame, screen)
	}
	if !strings.Contains(screen, "Bugsnag:") || !strings.Contains(screen, "https://app.bugsnag.com/roost/shop/errors/") {
		t.Errorf("the error screen shows no Bugsnag link:\n%s", screen)
	}

	ck.keys("C")
	ck.awaitText("copied e2e.lineItemError of " + ns + "/" + name + " via the terminal (OSC 52)")
	var buffer string
	deadline := time.Now().Add(screenTimeout)
	for {
		b, err := ck.tmux("show-buffer")
		if err == nil && strings.Contains(b, "in the canary") {
			buffer = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tmux has no paste buffer from the copy (set-clipboard on): %q, %v", b, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{ns + "/" + name + ": e2e.lineItemError: undefined method 'price' for nil", "1 event, 1 user in the canary", "new in the canary", "https://app.bugsnag.com/roost/shop/errors/"} {
		if !strings.Contains(buffer, want) {
			t.Errorf("copied %q, want it to hold %q", buffer, want)
		}
	}
	if strings.Contains(buffer, bsToken) {
		t.Error("the copy holds the Bugsnag token")
	}

	// Backspace returns to the errors panel.
	ck.keys("BSpace")
	ck.awaitText("▸ Errors, Bugsnag canary stage")
}
