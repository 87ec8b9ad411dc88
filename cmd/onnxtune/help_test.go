package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/help")

// TestHelp compares each command's help with testdata/help/NAME.golden:
// every screen, the root's and all its commands' (checked below).
// Run "go test ./cmd/onnxtune -update" after changing help text.
func TestHelp(t *testing.T) {
	screens := []struct {
		name string
		args []string
	}{
		{"onnxtune", []string{"--help"}},
		{"inspect", []string{"inspect", "--help"}},
		{"convert", []string{"convert", "--help"}},
		{"remap", []string{"remap", "--help"}},
		{"replace-head", []string{"replace-head", "--help"}},
		{"run", []string{"run", "--help"}},
		{"eval", []string{"eval", "--help"}},
		{"train", []string{"train", "--help"}},
		{"version", []string{"version", "--help"}},
	}
	covered := map[string]bool{}
	for _, tc := range screens {
		covered[tc.name] = true
	}
	for _, c := range (&app{}).rootCmd().Commands() {
		if c.IsAvailableCommand() && !covered[c.Name()] {
			t.Errorf("command %s has no help golden: add it to TestHelp", c.Name())
		}
	}
	for _, tc := range screens {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d, stderr: %s", code, &stderr)
			}
			if stderr.Len() > 0 {
				t.Errorf("help wrote to stderr: %s", &stderr)
			}
			golden := filepath.Join("testdata", "help", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
				t.Errorf("help differs from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
			}
		})
	}
}
