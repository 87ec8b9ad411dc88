package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph/ops"
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
	// 200 ticks passed, 50 idle: 150 busy, 50 of them stolen. The worker
	// used 0.6 s (60 ticks): others took 90 of 200.
	if got := after.otherSince(before, 0.6); !near(got, 45) {
		t.Errorf("other = %v%%, want 45%%", got)
	}
	if got := after.otherSince(before, 5); got != 0 {
		t.Errorf("other with more own time than busy time = %v%%, want 0", got)
	}
}

func TestWorkerArgs(t *testing.T) {
	e := &env{exe: "/tmp/bench", python: "/r/.venv/bin/python", script: "tools/bench/torch_bench.py", dir: "/c", models: "/m",
		bin: "/c/onnxtune"}
	for _, c := range []struct {
		name string
		j    job
		prog string
		want []string // in this order, not necessarily adjacent
	}{
		{"onnxtune train", job{impl: "onnxtune", workload: "lenet", batch: 64, steps: 40},
			"/tmp/bench", []string{"worker", "--impl", "onnxtune", "--workload", "lenet", "--t0", "7", "--steps", "40", "--batch", "64"}},
		{"pytorch train", job{impl: "pytorch", workload: "resnet", batch: 16},
			"/r/.venv/bin/python", []string{"tools/bench/torch_bench.py", "train", "--dir", "/c", "--t0", "7", "--model", "resnet", "--batch", "16"}},
		{"pytorch train of a new model", job{impl: "pytorch", workload: "encoder", batch: 8},
			"/r/.venv/bin/python", []string{"torch_bench.py", "train", "--model", "encoder", "--batch", "8"}},
		{"pytorch inference", job{impl: "pytorch", workload: "infer", batch: 16},
			"/r/.venv/bin/python", []string{"torch_bench.py", "infer", "--model", "resnet", "--workload", "infer", "--batch", "16"}},
		{"pytorch inference of MobileNetV2", job{impl: "pytorch", workload: "infer-mobilenet", batch: 16},
			"/r/.venv/bin/python", []string{"torch_bench.py", "infer", "--model", "mobilenet", "--workload", "infer-mobilenet"}},
		{"onnx io", job{impl: "onnx-python", workload: "io", file: "/c/m.onnx"},
			"/r/.venv/bin/python", []string{"io", "--file", "/c/m.onnx", "--tmp", "/c/tmp"}},
		{"onnxtune lstm", job{impl: "onnxtune", workload: "lstm", batch: 32},
			"/tmp/bench", []string{"worker", "--impl", "onnxtune", "--workload", "lstm", "--batch", "32"}},
		{"cli, PyTorch side: the Go worker times the script", job{impl: "pytorch", workload: "cli", batch: 16, file: "/c/r.onnx"},
			"/tmp/bench", []string{"worker", "--impl", "pytorch", "--workload", "cli", "--batch", "16", "--file", "/c/r.onnx",
				"--data", "/c/resnet_cli.npz", "--bin", "/c/onnxtune", "--python", "/r/.venv/bin/python", "--script", "torch_bench.py"}},
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
	for _, w := range workloadNames {
		if _, ok := sizes[w]; !ok {
			t.Errorf("workload %q has no sizes", w)
		}
	}
}

func TestFixtureNames(t *testing.T) {
	for _, c := range []struct {
		only string
		want []string
	}{
		{"lenet,scaling", nil},
		{"infer", []string{"resnet"}},
		{"infer-mobilenet,effnet", []string{"mobilenet", "effnet"}},
		{"cli", []string{"resnet", "cli"}},
		{"lstm,encoder,io", []string{"resnet", "encoder", "lstm"}},
	} {
		t.Run(c.only, func(t *testing.T) {
			sel, err := selected(c.only)
			if err != nil {
				t.Fatal(err)
			}
			if got := fixtureNames(sel); !slices.Equal(got, c.want) {
				t.Errorf("fixtureNames(%s) = %v, want %v", c.only, got, c.want)
			}
		})
	}
	if got := strings.Join(workloadNames, ","); !strings.HasPrefix(got, "lenet,resnet,mobilenet,effnet,encoder,lstm,infer,") {
		t.Errorf("workloadNames changed by a call: %s", got)
	}
}

func TestParseVariants(t *testing.T) {
	out := `{"impl": "pytorch", "workload": "resnet", "times_ms": [9, 10], "median_ms": 9.5, "min_ms": 9, ` +
		`"peak_rss_kb": 1, "threads": 1, "variants": [{"threads": 2, "times_ms": [12, 14], "median_ms": 13, "min_ms": 12}, ` +
		`{"threads": 1, "times_ms": [9, 10], "median_ms": 9.5, "min_ms": 9}]}`
	r, err := parseResult([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Threads != 1 || len(r.Variants) != 2 || r.Variants[0].Threads != 2 || r.Variants[0].MedianMS != 13 {
		t.Errorf("parsed %+v", r)
	}
	if i := fastest(r.Variants); i != 1 {
		t.Errorf("fastest = %d, want 1 (9.5 ms against 13)", i)
	}
}

func TestFastest(t *testing.T) {
	v := func(n int, m float64) Variant { return Variant{Threads: n, MedianMS: m} }
	for _, c := range []struct {
		name string
		vs   []Variant
		want int
	}{
		{"none", nil, -1},
		{"one", []Variant{v(2, 5)}, 0},
		{"second faster", []Variant{v(2, 5), v(1, 4)}, 1},
		{"tie: the first", []Variant{v(2, 5), v(1, 5)}, 0},
		{"no time skipped", []Variant{v(2, 0), v(1, 7)}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fastest(c.vs); got != c.want {
				t.Errorf("fastest = %d, want %d", got, c.want)
			}
		})
	}
	r := Result{Variants: []Variant{v(2, 5), {Threads: 1, MedianMS: 4, MinMS: 3, TimesMS: []float64{4, 3}}}}
	pickFastest(&r)
	if r.Threads != 1 || r.MedianMS != 4 || r.MinMS != 3 || len(r.TimesMS) != 2 {
		t.Errorf("pickFastest gave %+v", r)
	}
}

func TestBatchInputs(t *testing.T) {
	x, y := batchInputs("encoder", 8)
	ids, err := ops.Data[int64](x)
	if err != nil {
		t.Fatalf("token model: %v", err)
	}
	if s := ops.Shape(x); !slices.Equal(s, []int{8, 128}) {
		t.Errorf("shape %v, want [8 128]", s)
	}
	for _, id := range ids {
		if id < 0 || id >= int64(specs["encoder"].vocab) {
			t.Fatalf("token %d outside the vocabulary", id)
		}
	}
	if y[3] != 1 || y[2] != 0 {
		t.Errorf("labels %v, want i %% 2", y)
	}
	img, _ := batchInputs("mobilenet", 2)
	if _, err := ops.Data[float32](img); err != nil || !slices.Equal(ops.Shape(img), []int{2, 3, 64, 64}) {
		t.Errorf("image batch %v: %v", ops.Shape(img), err)
	}
}

func TestFixtureError(t *testing.T) {
	errs := map[string]string{"encoder": "OnnxExporterError: Unsupported", "resnet": "boom"}
	if got := fixtureError("encoder", errs); !strings.Contains(got, `"encoder": OnnxExporterError`) {
		t.Errorf("encoder: %q", got)
	}
	if got := fixtureError("cli", errs); !strings.Contains(got, `"resnet": boom`) {
		t.Errorf("cli needs resnet's fixture: %q", got)
	}
	if got := fixtureError("lenet", errs); got != "" {
		t.Errorf("lenet has no fixture: %q", got)
	}
	if got := fixtureError("lstm", errs); got != "" {
		t.Errorf("lstm's fixture was made: %q", got)
	}
}
