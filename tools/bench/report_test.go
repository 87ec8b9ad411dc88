package main

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14 96-Core Processor\nflags\t\t: fpu\n\n" +
		"processor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(info); got != "AMD EPYC 9R14 96-Core Processor" {
		t.Errorf("cpuModel = %q", got)
	}
	info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(info); got != "AMD EPYC (family 26, model 2)" {
		t.Errorf("cpuModel with a family = %q", got)
	}
	if got := cpuModel("processor : 0\n"); got != "" {
		t.Errorf("cpuModel without a model name = %q, want empty", got)
	}
}

func TestVectorExtensions(t *testing.T) {
	got := vectorExtensions([]extension{{"avx2", true}, {"fma", true}, {"avx512f", false}, {"avx512bw", true}})
	if !slices.Equal(got, []string{"avx2", "fma", "avx512bw"}) {
		t.Errorf("extensions %v", got)
	}
	m := Machine{CPU: "X", NumCPU: 2, GOMAXPROCS: 2, Platform: "linux/amd64", When: "now", GEMM: gemmSetting("avx2", "avx2")}
	if s := m.String(); !strings.Contains(s, "vector extensions: none") || !strings.Contains(s, "GEMM: avx2 (ONNXTUNE_GEMM=avx2)") {
		t.Errorf("machine line %q", s)
	}
	if g := gemmSetting("", "avx512"); !strings.Contains(g, "unset") || !strings.HasPrefix(g, "avx512") {
		t.Errorf("gemmSetting(\"\", \"avx512\") = %q", g)
	}
}

func TestThreadTable(t *testing.T) {
	v := func(n int, m float64) Variant { return Variant{Threads: n, MedianMS: m} }
	r := runs{
		"onnxtune": {{MedianMS: 5}, {MedianMS: 6}},
		"pytorch": {{Threads: 1, Variants: []Variant{v(2, 12), v(1, 10)}}, nil,
			{Threads: 1, Variants: []Variant{v(2, 14), v(1, 11)}}},
	}
	rows := threadTable(map[string]runs{"resnet": r, "lenet": {"pytorch": {nil}}})
	if len(rows) != 1 {
		t.Fatalf("rows %+v, want one (lenet's worker failed)", rows)
	}
	tr := rows[0]
	if tr.Workload != "resnet" || tr.Reference != "PyTorch" || tr.Used != 1 || !near(float64(tr.MS[2]), 13) || !near(float64(tr.MS[1]), 10.5) {
		t.Errorf("row %+v", tr)
	}
	one, two := threadCells(tr)
	if one != "10.5 ms *" || two != "13.0 ms" {
		t.Errorf("cells %q, %q", one, two)
	}
}

// TestFailedWorkerRow checks that a workload whose onnxtune worker failed
// gets its rows, with the worker's message, and the rest of the report.
func TestFailedWorkerRow(t *testing.T) {
	ok := func(impl string) *Result { return &Result{Impl: impl, MedianMS: 10, MinMS: 9, PeakRSSKB: 1 << 10} }
	all := map[string]runs{
		"lstm":   {"onnxtune": {nil, nil}, "pytorch": {ok("pytorch"), ok("pytorch")}},
		"resnet": {"onnxtune": {ok("onnxtune")}, "pytorch": {ok("pytorch")}},
	}
	failed := map[string]string{"lstm/onnxtune": "onnxtune lstm worker: exit status 1\n    worker onnxtune lstm: importer: node \"/lstm/LSTM\" (LSTM): no"}
	rows, _, _ := tables(all, failed)
	var lstm []Row
	for _, r := range rows {
		if strings.Contains(r.Workload, "LSTM") {
			lstm = append(lstm, r)
		}
	}
	if len(lstm) != 2 || len(rows) != 4 {
		t.Fatalf("rows %+v; want step and memory rows for both workloads", rows)
	}
	for _, r := range lstm {
		if r.Result != resError || !strings.HasPrefix(r.Note, "worker onnxtune lstm: importer") {
			t.Errorf("row %q: result %q, note %q", r.Workload, r.Result, r.Note)
		}
	}
	var b bytes.Buffer
	writeMarkdown(&b, &Report{Rows: rows, Machine: Machine{CPU: "X"}, Versions: []string{"go"}, Rounds: 2})
	if !strings.Contains(b.String(), `ERROR: worker onnxtune lstm: importer: node "/lstm/LSTM" (LSTM): no |`) {
		t.Errorf("markdown lacks the error in the row:\n%s", b.String())
	}
	if r := rows[0]; r.Result != resPass || r.Note != "" {
		t.Errorf("resnet row %+v", r)
	}
}

func TestLastErrorLine(t *testing.T) {
	if got := lastErrorLine("a worker: exit status 1\n    worker x: boom\n"); got != "worker x: boom" {
		t.Errorf("got %q", got)
	}
	if got := lastErrorLine(strings.Repeat("x", 300)); len(got) != 160 || !strings.HasSuffix(got, "...") {
		t.Errorf("long line kept %d bytes", len(got))
	}
}

func TestQuickMarked(t *testing.T) {
	for _, quick := range []bool{false, true} {
		rep := &Report{Machine: Machine{CPU: "X"}, Versions: []string{"go"}, Rounds: 1, Quick: quick}
		var md, txt strings.Builder
		writeMarkdown(&md, rep)
		writeText(&txt, rep)
		for name, out := range map[string]string{"markdown": md.String(), "text": txt.String()} {
			if got := strings.Contains(out, "QUICK RUN"); got != quick {
				t.Errorf("quick=%v: %s report marks it %v:\n%s", quick, name, got, out)
			}
		}
	}
}

// TestReferenceSteady checks --reference-steady: a PyTorch worker with
// glibc's malloc keeping what it frees runs beside the native one on the
// training workloads only, with those variables, and gets its own row
// without a target.
func TestReferenceSteady(t *testing.T) {
	e := &env{dir: "d", models: "m"}
	for _, on := range []bool{false, true} {
		ps := plans(options{referenceSteady: on}, e)
		for name, p := range ps {
			n := 0
			for _, c := range p.context {
				if c.impl == steadyTorch {
					n++
					if !c.python() {
						t.Errorf("%s: the steady worker is not torch_bench.py", name)
					}
				}
			}
			want := 0
			if on && slices.Contains(trainWorkloads, name) {
				want = 1
			}
			if n != want {
				t.Errorf("reference-steady=%v: %s has %d steady PyTorch workers, want %d", on, name, n, want)
			}
		}
	}
	env := strings.Join(e.workerEnv(job{impl: steadyTorch}), "\n")
	for _, v := range steadyTorchEnv {
		if !strings.Contains(env, v) {
			t.Errorf("the steady worker's environment lacks %s", v)
		}
	}
	// Set in the driver's environment, the variables reach the steady
	// worker only.
	for _, v := range steadyTorchEnv {
		k, val, _ := strings.Cut(v, "=")
		t.Setenv(k, val+"1")
	}
	for _, impl := range []string{"pytorch", avx2Torch, "onnxruntime"} {
		for _, kv := range e.workerEnv(job{impl: impl}) {
			for _, v := range steadyTorchEnv {
				if strings.HasPrefix(kv, v[:strings.IndexByte(v, '=')+1]) {
					t.Errorf("the %s worker's environment has %s", impl, kv)
				}
			}
		}
		if env := e.workerEnv(job{impl: impl}); env == nil {
			t.Errorf("the %s worker gets the driver's environment with the malloc variables", impl)
		}
	}
	if env := strings.Join(e.workerEnv(job{impl: steadyTorch}), "\n"); !strings.Contains(env, steadyTorchEnv[0]) {
		t.Errorf("the steady worker's environment lacks %s", steadyTorchEnv[0])
	}
	r := Result{Impl: "pytorch"}
	if err := checkCapability(job{impl: steadyTorch}, &r); err != nil || r.Impl != steadyTorch {
		t.Errorf("the steady worker's result: err %v, impl %q", err, r.Impl)
	}
	res := func(impl string, ms float64) *Result {
		return &Result{Impl: impl, MedianMS: ms, MinMS: ms, PeakRSSKB: 1 << 10}
	}
	all := map[string]runs{"lstm": {
		"onnxtune":  {res("onnxtune", 34), res("onnxtune", 36)},
		"pytorch":   {res("pytorch", 50), res("pytorch", 48)},
		steadyTorch: {res(steadyTorch, 32), res(steadyTorch, 33)},
	}}
	rows, _, _ := tables(all, nil)
	var got []string
	for _, row := range rows {
		if strings.HasPrefix(row.Workload, "train step") {
			got = append(got, fmt.Sprintf("%s/%s/%s", row.Reference, row.Target, row.Result))
		}
	}
	want := []string{"PyTorch/<= 1.0/pass", "PyTorch, malloc kept//info"}
	if !slices.Equal(got, want) {
		t.Errorf("train step rows %q, want %q", got, want)
	}
}

// TestReferenceAVX2 checks --reference-avx2: the AVX2-only PyTorch worker
// runs beside the native one on the training and inference workloads only,
// with the variables that hold PyTorch to AVX2, its result is refused unless
// PyTorch reports AVX2, and it gets its own row without a target.
func TestReferenceAVX2(t *testing.T) {
	e := &env{dir: "d", models: "m"}
	for _, on := range []bool{false, true} {
		ps := plans(options{referenceAVX2: on}, e)
		for name, p := range ps {
			n := 0
			for _, c := range p.context {
				if c.impl == avx2Torch {
					n++
					if !c.python() {
						t.Errorf("%s: the AVX2 worker is not torch_bench.py", name)
					}
				}
			}
			want := 0
			if on && (specs[name].batch > 0 || inferModel[name] != "") {
				want = 1
			}
			if n != want {
				t.Errorf("reference-avx2=%v: %s has %d AVX2 PyTorch workers, want %d", on, name, n, want)
			}
		}
		if !on && len(ps["infer"].context) != 1 {
			t.Errorf("infer's context %+v, want the native PyTorch only", ps["infer"].context)
		}
	}
	env := strings.Join(e.workerEnv(job{impl: avx2Torch}), "\n")
	for _, v := range avx2TorchEnv {
		if !strings.Contains(env, v) {
			t.Errorf("the AVX2 worker's environment lacks %s", v)
		}
	}
	if got := e.workerEnv(job{impl: "pytorch"}); got != nil {
		t.Errorf("the native worker's environment is changed: %d variables", len(got))
	}

	j := job{impl: avx2Torch, workload: "resnet"}
	r := Result{Impl: "pytorch", CPUCapability: "AVX512"}
	if err := checkCapability(j, &r); err == nil || !strings.Contains(err.Error(), `"AVX512"`) {
		t.Errorf("an AVX-512 result of the AVX2 worker: err %v", err)
	}
	r.CPUCapability = "AVX2"
	if err := checkCapability(j, &r); err != nil || r.Impl != avx2Torch {
		t.Errorf("an AVX2 result: err %v, impl %q", err, r.Impl)
	}
	native := Result{Impl: "pytorch", CPUCapability: "AVX512"}
	if err := checkCapability(job{impl: "pytorch"}, &native); err != nil || native.Impl != "pytorch" {
		t.Errorf("the native worker: err %v, impl %q", err, native.Impl)
	}

	res := func(impl string, ms float64) *Result {
		return &Result{Impl: impl, MedianMS: ms, MinMS: ms, PeakRSSKB: 1 << 10}
	}
	all := map[string]runs{"resnet": {"onnxtune": {res("onnxtune", 90)}, "pytorch": {res("pytorch", 60)},
		avx2Torch: {res(avx2Torch, 120)}}}
	rows, _, _ := tables(all, nil)
	var got []string
	for _, r := range rows {
		if strings.HasPrefix(r.Workload, "train step") {
			got = append(got, fmt.Sprintf("%s %.2f %s", r.Reference, float64(r.Ratio), r.Result))
		}
	}
	want := []string{"PyTorch 1.50 " + resFail, "PyTorch, AVX2 only 0.75 " + resInfo}
	if !slices.Equal(got, want) {
		t.Errorf("step rows %q, want %q with no verdict on the AVX2 row", got, want)
	}
}

// TestBadFlags checks that drive refuses bad flags and arguments with exit
// status 2 before measuring anything, and that --help is not an error.
func TestBadFlags(t *testing.T) {
	for _, argv := range [][]string{{"--nope"}, {"--reference-avx2=maybe"}, {"--only", "foo"}, {"extra"}, {"--rounds", "x"}, {"--rounds", "0"}, {"--rounds", "-1"},
		{"--steps", "-5"}, {"--steps", "0"}, {"--budget", "-3"}, {"--only="}, {"--only", " "},
		{"--rerun-above", "-1"}, {"--rerun-above", "101"}, {"--rerun-above", "NaN"}} {
		if got := drive(argv); got != 2 {
			t.Errorf("drive(%q) = %d, want 2", argv, got)
		}
	}
	if got := drive([]string{"--help"}); got != 0 {
		t.Errorf("drive(--help) = %d, want 0", got)
	}
}

// TestCheckNumbers checks that the values the flags document pass, and
// that a value read as the default passes only when not given.
func TestCheckNumbers(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--rounds", "3", "--steps", "1", "--budget", "0"}, true},
		{[]string{"--budget", "-1", "--only", "lstm"}, true},
		{[]string{"--budget", "2.5"}, true},
		{[]string{"--rounds", "0"}, false},
		{[]string{"--budget", "-0.5"}, false},
		{[]string{"--only", ""}, false},
		{[]string{"--rerun-above", "0"}, true},
		{[]string{"--rerun-above", "2.5"}, true},
		{[]string{"--rerun-above", "-1"}, false},
		{[]string{"--rerun-above", "NaN"}, false},
	} {
		var o options
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.IntVar(&o.rounds, "rounds", 0, "")
		fs.IntVar(&o.steps, "steps", 0, "")
		fs.Float64Var(&o.budget, "budget", -1, "")
		fs.StringVar(&o.only, "only", "", "")
		fs.Float64Var(&o.rerunAbove, "rerun-above", 5, "")
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if err := checkNumbers(fs, o); (err == nil) != tc.ok {
			t.Errorf("%q: error %v, want ok %v", tc.args, err, tc.ok)
		}
	}
}

// TestDisturbed: a round stands unless other processes took more than the
// limit while one of its workers ran; failed workers (nil) and a limit of
// 0 never make it run again, and the reason names the worker.
func TestDisturbed(t *testing.T) {
	quiet, busy := &Result{Impl: "onnxtune", OtherPct: 1}, &Result{Impl: "pytorch", OtherPct: 9}
	for _, tc := range []struct {
		results []*Result
		limit   float64
		want    string
	}{
		{[]*Result{quiet, quiet}, 5, ""},
		{[]*Result{quiet, busy}, 5, "other processes took 9.0% of the CPU while pytorch ran (over 5%)"},
		{[]*Result{busy, nil}, 0, ""},
		{[]*Result{nil, quiet}, 5, ""},
		{[]*Result{quiet, busy}, 9, ""},
		{[]*Result{quiet}, 0.5, "other processes took 1.0% of the CPU while onnxtune ran (over 0.5%)"},
	} {
		if got := disturbed(tc.results, tc.limit); got != tc.want {
			t.Errorf("disturbed(limit %g) = %q, want %q", tc.limit, got, tc.want)
		}
	}
}
