package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseResult(t *testing.T) {
	good := `{"impl": "pytorch", "workload": "lenet", "batch": 64, "startup_ms": 1200.5, "warmup": 3, ` +
		`"times_ms": [10.5, 9.5, 11], "median_ms": 10.5, "min_ms": 9.5, "peak_rss_kb": 262144, "base_rss_kb": 200000, ` +
		`"version": "torch 1.13.0a0, onnx 1.12.0"}`
	for _, c := range []struct {
		name, out string
		err       string // substring of the error; "" for none
	}{
		{"one line", good + "\n", ""},
		{"after chatter", "warning: something\n" + good + "\n", ""},
		{"last JSON line wins", `{"impl": "x"}` + "\n" + good + "\n", ""},
		{"no result", "Traceback (most recent call last):\n", "no JSON result line"},
		{"bad JSON", `{"impl": "pytorch", "workload": ` + "\n", "worker result"},
		{"no impl", `{"workload": "lenet", "times_ms": [1], "median_ms": 1, "peak_rss_kb": 1}`, "no impl"},
		{"no times", `{"impl": "onnxtune", "workload": "lenet", "times_ms": [], "median_ms": 0, "peak_rss_kb": 1}`, "no step times"},
		{"no memory", `{"impl": "onnxtune", "workload": "lenet", "times_ms": [1], "median_ms": 1}`, "no peak RSS"},
		{"scaling of one batch", `{"impl": "onnxtune", "workload": "scaling", "times_ms": [1], "median_ms": 1, ` +
			`"peak_rss_kb": 1, "points": [{"batch": 8, "times_ms": [1], "median_ms": 1, "min_ms": 1}]}`, "at least 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseResult([]byte(c.out))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Impl != "pytorch" || r.Batch != 64 || r.MedianMS != 10.5 || r.PeakRSSKB != 262144 || len(r.TimesMS) != 3 {
				t.Errorf("parsed %+v", r)
			}
		})
	}
}

// TestResultRoundTrip checks that what the Go worker prints is what the
// driver reads.
func TestResultRoundTrip(t *testing.T) {
	in := Result{Impl: "onnxtune", Workload: "scaling", StartupMS: 15, TimesMS: []float64{3, 4}, MedianMS: 3.5,
		MinMS: 3, PeakRSSKB: 65536, Points: []Point{{Batch: 8, TimesMS: []float64{1}, MedianMS: 1, MinMS: 1},
			{Batch: 16, TimesMS: []float64{2}, MedianMS: 2, MinMS: 2}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := parseResult(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Points[1].Batch != 16 || out.MedianMS != 3.5 || out.StartupMS != 15 {
		t.Errorf("round trip gave %+v", out)
	}
}

func TestParseBatches(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"8,16,32,64", []int{8, 16, 32, 64}},
		{" 8, 64", []int{8, 64}},
		{"8", nil},
		{"8,8", nil},
		{"16,8", nil},
		{"8,x", nil},
		{"0,8", nil},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseBatches(c.in)
			if c.want == nil {
				if err == nil {
					t.Fatalf("parseBatches(%q) = %v, want an error", c.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("parseBatches(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseCPU(t *testing.T) {
	before := parseCPU("cpu  524575 0 124427 2044149 7783 0 1544 18601 0 0")
	after := parseCPU("cpu  524675 0 124427 2044199 7783 0 1544 18651 0 0")
	if got := after.stealSince(before); !near(got, 25) {
		t.Errorf("steal = %v%%, want 25%% (50 of 200 ticks)", got)
	}
	if got := parseCPU("cpu0 1 2 3 4 5 6 7 8"); got != (cpuTimes{}) {
		t.Errorf("per-CPU line parsed as the total: %+v", got)
	}
	if got := before.stealSince(before); got != 0 {
		t.Errorf("no time passed, steal %v", got)
	}
}

func TestWorkerArgs(t *testing.T) {
	e := &env{exe: "/tmp/bench", python: "/usr/bin/python3", script: "tools/bench/torch_bench.py", dir: "/c", models: "/m"}
	for _, c := range []struct {
		name string
		j    job
		prog string
		want []string // in this order, not necessarily adjacent
	}{
		{"onnxtune train", job{impl: "onnxtune", workload: "lenet", batch: 64, steps: 40},
			"/tmp/bench", []string{"worker", "--impl", "onnxtune", "--workload", "lenet", "--t0", "7", "--steps", "40", "--batch", "64"}},
		{"pytorch train", job{impl: "pytorch", workload: "resnet", batch: 16},
			"/usr/bin/python3", []string{"tools/bench/torch_bench.py", "train", "--dir", "/c", "--t0", "7", "--model", "resnet", "--batch", "16"}},
		{"pytorch inference", job{impl: "pytorch", workload: "infer", batch: 16},
			"/usr/bin/python3", []string{"torch_bench.py", "infer", "--batch", "16"}},
		{"onnx io", job{impl: "onnx-python", workload: "io", file: "/c/m.onnx"},
			"/usr/bin/python3", []string{"io", "--file", "/c/m.onnx", "--tmp", "/c/tmp"}},
		{"onnxruntime", job{impl: "onnxruntime", workload: "infer", batch: 16},
			"/tmp/bench", []string{"worker", "--impl", "onnxruntime", "--workload", "infer"}},
		{"scaling", job{impl: "onnxtune", workload: "scaling", batches: "8,64"},
			"/tmp/bench", []string{"--workload", "scaling", "--batches", "8,64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			prog, argv := e.args(c.j, 7)
			if prog != c.prog {
				t.Errorf("program %q, want %q", prog, c.prog)
			}
			i := 0
			for _, a := range argv {
				if i < len(c.want) && strings.HasSuffix(a, c.want[i]) {
					i++
				}
			}
			if i < len(c.want) {
				t.Errorf("argv %q lacks %q (in order)", argv, c.want[i:])
			}
		})
	}
}

func TestSelected(t *testing.T) {
	all, err := selected("")
	if err != nil || len(all) != len(workloadNames) {
		t.Fatalf("selected(\"\") = %v, %v", all, err)
	}
	two, err := selected("lenet, scaling")
	if err != nil || len(two) != 2 || !two["lenet"] || !two["scaling"] {
		t.Fatalf("selected(lenet, scaling) = %v, %v", two, err)
	}
	if _, err := selected("lenet,bert"); err == nil || !strings.Contains(err.Error(), `"bert"`) {
		t.Fatalf("unknown workload: error %v", err)
	}
}
