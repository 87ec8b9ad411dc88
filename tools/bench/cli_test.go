package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitSteps(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	t.Run("warm-up skipped", func(t *testing.T) {
		// First step done at 1000 ms, warm-up step at 1300, then steps of 100, 120, 110.
		startup, tailMS, steps, err := splitSteps(t0, at(1000, 1300, 1400, 1520, 1630), t0.Add(2000*time.Millisecond), 1)
		if err != nil {
			t.Fatal(err)
		}
		if !near(startup, 1000) || !near(tailMS, 370) {
			t.Errorf("start-up %v, tail %v; want 1000, 370", startup, tailMS)
		}
		want := []float64{100, 120, 110}
		if len(steps) != len(want) {
			t.Fatalf("steps %v, want %v", steps, want)
		}
		for i := range want {
			if !near(steps[i], want[i]) {
				t.Fatalf("steps %v, want %v", steps, want)
			}
		}
	})
	t.Run("too few lines", func(t *testing.T) {
		_, _, _, err := splitSteps(t0, at(1000, 1300), t0.Add(2*time.Second), 1)
		if err == nil || !strings.Contains(err.Error(), "2 step lines") {
			t.Errorf("error %v, want one counting the lines", err)
		}
	})
}

// TestStepWatch writes step lines as train does (one write each, a partial
// line completed later, other lines between) and checks that each step
// line is stamped once, when it was completed.
func TestStepWatch(t *testing.T) {
	dir := t.TempDir()
	w, err := watchSteps(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, ".steps.jsonl.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	start := time.Now()
	write(`{"type":"step","step":1}` + "\n")
	write(`{"type": "step", "step": 2}` + "\n" + `{"type":"ste`)
	mid := time.Now()
	write(`p","step":3}` + "\n")
	write(`{"type":"epoch","epoch":1}` + "\n")
	f.Close()
	stamps := w.stop()
	if len(stamps) != 3 {
		t.Fatalf("%d stamps, want 3 (step lines only, the split one once)", len(stamps))
	}
	if !slices.IsSortedFunc(stamps, func(a, b time.Time) int { return a.Compare(b) }) || stamps[0].Before(start) {
		t.Errorf("stamps out of order: %v", stamps)
	}
	if stamps[2].Before(mid) {
		t.Errorf("the split line was stamped at %v, before its end was written (%v)", stamps[2], mid)
	}
}

func TestCLICommand(t *testing.T) {
	a := workerArgs{impl: "onnxtune", bin: "/c/onnxtune", file: "/c/resnet_train.onnx", data: "/c/d.npz", tmp: "/c/tmp",
		batch: 16, steps: 13, python: "/v/python", script: "tb.py", dir: "/c", models: "/m"}
	got := strings.Join(cliCommand(a, 0, "/c/tmp/m/steps.jsonl"), " ")
	for _, want := range []string{"/c/onnxtune train /c/resnet_train.onnx", "--data /c/d.npz", "--batch-size 16", "--steps 13",
		"--shuffle=false", "--lr 0.001", "--momentum 0.9", "--weight-decay 1e-4", "--group fc.*:lr=0.01",
		"--metrics /c/tmp/m/steps.jsonl"} {
		if !strings.Contains(got, want) {
			t.Errorf("onnxtune command %q lacks %q", got, want)
		}
	}
	a.impl = "pytorch"
	got = strings.Join(cliCommand(a, 1, "/c/tmp/m/steps.jsonl"), " ")
	for _, want := range []string{"/v/python tb.py loop --model resnet", "--data /c/d.npz", "--batch 16", "--steps 13",
		"--threads 1", "--metrics /c/tmp/m/steps.jsonl"} {
		if !strings.Contains(got, want) {
			t.Errorf("PyTorch command %q lacks %q", got, want)
		}
	}
}
