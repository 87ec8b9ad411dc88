package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
)

// TestCurrent: graph/paramslots_gen.go is what the registry's declarations
// generate, so that a slot declared with an op is the one the IR names
// parameters from.
func TestCurrent(t *testing.T) {
	want, err := render(ops.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../graph/paramslots_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("graph/paramslots_gen.go is stale: run go generate ./graph")
	}
}
