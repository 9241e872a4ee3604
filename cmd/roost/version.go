package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Stamped by the Makefile: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = ""
	commit  = ""
)

// buildVersion is the stamped version, else the module version `go install
// ...@vX` records, else "dev".
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print roost's version, commit and Go toolchain",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v, c := buildVersion()
			fmt.Fprintf(a.out, "roost version %s (commit %s) %s %s/%s\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			if a.logFile != "" {
				fmt.Fprintf(a.out, "logs: %s\n", a.logFile)
			}
			return nil
		},
	}
}
