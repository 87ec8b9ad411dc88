package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print onnxtune's version",
		Long:  "Version prints the version of onnxtune and of the Go toolchain that built it.",
		Args:  positional(),
		RunE: work(func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.stdout, versionLine())
			return err
		}),
	}
}

// versionLine is what 'onnxtune version' and 'onnxtune --version' print:
// onnxtune's module version and the Go toolchain that built it.
func versionLine() string {
	v, goVersion := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("onnxtune %s (%s)", v, goVersion)
}
