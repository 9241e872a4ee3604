package main

import (
	"os"
	"testing"

	"k8s.io/klog/v2"
)

// TestMain keeps the tests off the machine's own configuration and
// credentials: no config file, no Datadog or Bugsnag keys, unless a test
// sets them.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roost-cmd-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	// klog's flags, as main registers them: --help then lists -v.
	klog.InitFlags(klogFlags)
	for _, k := range []string{"DD_API_KEY", "DD_APP_KEY", "DD_SITE", "BUGSNAG_AUTH_TOKEN", "NO_COLOR"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
