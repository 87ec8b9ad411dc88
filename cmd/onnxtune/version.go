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
			v, goVersion := "(devel)", "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
				if bi.Main.Version != "" {
					v = bi.Main.Version
				}
			}
			_, err := fmt.Fprintf(a.stdout, "onnxtune %s (%s)\n", v, goVersion)
			return err
		}),
	}
}
