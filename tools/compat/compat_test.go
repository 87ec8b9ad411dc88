package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/internal/ort"
)

const root = "../.."

// TestCompat checks issue 12's rule on every real-world file and every
// fetched corpus file (all of them: the whole run takes seconds): it passes
// load, run against the reference, training and ONNX Runtime's run of the
// result, or fails naming ops the engine lacks, or is listed with its issue
// in known_failures.tsv.
func TestCompat(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		t.Skipf("ONNX Runtime is not installed (run scripts/setup.sh): %v", err)
	}
	known, err := KnownFailures()
	if err != nil {
		t.Fatal(err)
	}
	realworld := filepath.Join(root, "..", "shared", "realworld")
	corpus := filepath.Join(root, ".cache", "corpus")
	sets, notes := Sets(root, realworld, corpus)
	bySet := map[string][]Entry{}
	for _, s := range sets {
		for _, e := range s {
			bySet[e.Set] = append(bySet[e.Set], e)
		}
	}
	for _, set := range []string{"realworld", "corpus"} {
		t.Run(set, func(t *testing.T) {
			for _, n := range notes {
				if strings.Contains(n, set) || set == "realworld" && strings.Contains(n, "real-world") {
					t.Log(n)
				}
			}
			entries := bySet[set]
			if len(entries) == 0 {
				switch set {
				case "realworld":
					t.Skipf("no real-world files in %s (../shared/realworld is absent)", realworld)
				default:
					t.Skipf("the corpus is not fetched into %s: run scripts/fetch-corpus.sh (scripts/setup.sh does)", corpus)
				}
			}
			for _, e := range entries {
				t.Run(e.File, func(t *testing.T) {
					r := Check(e, Options{Timeout: 2 * time.Minute, TempDir: t.TempDir()})
					ok, msg, note := Invariant(r, known)
					if note != "" {
						t.Log(note)
					}
					if !ok {
						t.Error(msg)
					}
				})
			}
		})
	}
}

// The rule can fail: a failure that names no op and is not listed breaks
// it; listed, or naming an op, it holds.
func TestInvariant(t *testing.T) {
	known := map[string]Known{"listed.onnx": {Issue: "issue 12", Reason: "fixed batch"}}
	unsupported := &ops.UnsupportedError{Ops: map[string][]string{"LSTM": {"/rnn/LSTM"}}}
	cases := []struct {
		name string
		file string
		run  Step
		ok   bool
		note bool
	}{
		{"pass", "a.onnx", Step{Status: OK}, true, false},
		{"listed file passes", "listed.onnx", Step{Status: OK}, true, true},
		{"unsupported op", "a.onnx", Step{Status: Fail, Error: unsupported.Error(), err: unsupported}, true, false},
		{"other failure", "a.onnx", Step{Status: Fail, Error: "node \"x\" (Sub): bad", err: errors.New("node \"x\" (Sub): bad")}, false, false},
		{"listed failure", "listed.onnx", Step{Status: Fail, Error: "wants [1, 3]", err: errors.New("wants [1, 3]")}, true, true},
		{"n/a steps pass", "a.onnx", Step{Status: NA, Error: "n/a: no reference"}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Result{Entry: Entry{File: c.file}, Load: Step{Status: OK}, Run: c.run, Train: Step{Status: OK}, Export: Step{Status: OK}}
			r.judge()
			ok, msg, note := Invariant(r, known)
			if ok != c.ok || (note != "") != c.note {
				t.Errorf("Invariant = %v %q %q, want ok %v, a note %v", ok, msg, note, c.ok, c.note)
			}
		})
	}
}

// Every known failure names a file of a manifest (no stale entries).
func TestKnownFailuresListed(t *testing.T) {
	known, err := KnownFailures()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	rows, err := readTSV(filepath.Join(root, "models", "corpus", "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		names[r["file"]] = true
	}
	realworld := filepath.Join(root, "..", "shared", "realworld", "manifest.tsv")
	rows, err = readTSV(realworld)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is absent: cannot check the real-world names", realworld)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		names[r["file"]] = true
	}
	for f := range known {
		if !names[f] {
			t.Errorf("known_failures.tsv lists %s, which no manifest has", f)
		}
	}
}

func TestRelDiff(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		a, b []float64
		want float64
	}{
		{"equal", []float64{1, -2}, []float64{1, -2}, 0},
		{"relative to the largest magnitude", []float64{1, -2.002}, []float64{1, -2}, 0.001},
		{"zeros", []float64{0, 0}, []float64{0, 0}, 0},
		{"NaN in both", []float64{nan, 1}, []float64{nan, 1}, 0},
		{"NaN in one", []float64{nan, 1}, []float64{0, 1}, inf},
		{"lengths differ", []float64{1}, []float64{1, 2}, inf},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := relDiff(c.a, c.b); math.Abs(got-c.want) > 1e-12 && got != c.want {
				t.Errorf("relDiff = %g, want %g", got, c.want)
			}
		})
	}
}
