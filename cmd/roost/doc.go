// Command roost is a terminal cockpit for live canary releases on Kubernetes:
// with no subcommand it opens the cockpit; its subcommands act on rollouts
// (promote, abort, retry…) and their AnalysisRuns (terminate analysisrun),
// read them (get, get analysisruns, wait), run the reconciler
// headless (controller), install the CRD and RBAC (install) and run the
// self-contained demo (demo). This package only parses flags and wires the
// other packages together, and reads the terminal's environment (its colour
// profile, how it takes a notification: terminal.go) for the cockpit.
package main
