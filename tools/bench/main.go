// Command bench is onnxtune's performance harness (docs/performance.md): it
// runs onnxtune, PyTorch (Debian's python3-torch, 2 threads) and ONNX Runtime
// (2 intra-op threads) on the same models and batches and prints their ratios
// against the targets of the performance issue.
//
//	go run ./tools/bench             # everything, a few minutes
//	go run ./tools/bench --quick     # a smoke check: one round, few steps
//	go run ./tools/bench --only lenet,scaling --markdown
//
// Every measurement is its own process, so that its peak resident memory is
// its own: the driver re-executes itself ("bench worker ...") for onnxtune
// and ONNX Runtime, and runs /usr/bin/python3 tools/bench/torch_bench.py for
// PyTorch. Each worker prints one JSON line (Result). Workers of a workload
// alternate, onnxtune then reference, for --rounds rounds.
//
// Progress goes to stderr; the table (or --json, --markdown) to stdout. The
// exit status is 1 when a worker failed, or with --check when a target is
// missed; 2 for bad flags or a missing tool.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/onnxtune/onnxtune/internal/ort"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := runWorker(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(drive(os.Args[1:]))
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench] "+format+"\n", args...)
}

// workloads in the order they run and print.
var workloadNames = []string{"lenet", "resnet", "infer", "io", "scaling"}

// sizing is how long a workload's workers measure.
type sizing struct {
	warmup, steps int
	budget        float64 // seconds of steady state per worker
}

// sizes: default and --quick. ResNet-18 training in onnxtune takes seconds a
// step, so its budget cuts it short (after at least 3 steps).
var sizes = map[string][2]sizing{
	"lenet":   {{warmup: 5, steps: 40, budget: 10}, {warmup: 1, steps: 5}},
	"resnet":  {{warmup: 2, steps: 10, budget: 25}, {warmup: 1, steps: 2}},
	"infer":   {{warmup: 3, steps: 30, budget: 10}, {warmup: 1, steps: 3}},
	"io":      {{warmup: 1, steps: 5, budget: 15}, {warmup: 0, steps: 1}},
	"scaling": {{warmup: 3, steps: 15, budget: 15}, {warmup: 1, steps: 3}},
}

type options struct {
	quick, json, markdown, check, verbose bool
	only                                  string
	steps, rounds                         int
	budget                                float64
	python                                string
}

func drive(argv []string) int {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "few steps and one round: a smoke check, not a measurement")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.markdown, "markdown", false, "print the report as the markdown tables of docs/performance.md")
	fs.StringVar(&o.only, "only", "", "comma-separated workloads to run: "+strings.Join(workloadNames, ", ")+" (default all)")
	fs.IntVar(&o.steps, "steps", 0, "steady-state steps per worker at most (default per workload)")
	fs.IntVar(&o.rounds, "rounds", 0, "rounds of onnxtune/reference workers per workload (default 2, 1 with --quick)")
	fs.Float64Var(&o.budget, "budget", -1, "seconds of steady state per worker at most, 0 for no limit (-1: per workload)")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python interpreter that has torch, torchvision and onnx")
	fs.BoolVar(&o.check, "check", false, "exit with status 1 when a target is missed")
	fs.BoolVar(&o.verbose, "v", false, "show the workers' stderr")
	fs.SetOutput(os.Stderr)
	err := fs.Parse(argv)
	rest := fs.Args()
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", rest)
		return 2
	}
	sel, err := selected(o.only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if o.rounds <= 0 {
		o.rounds = 2
		if o.quick {
			o.rounds = 1
		}
	}
	e, err := newEnv(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if err := e.preflight(ctx, sel); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	rep := measure(ctx, e, o, sel)
	rep.WallS = number(time.Since(start).Seconds())
	switch {
	case o.json:
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	case o.markdown:
		writeMarkdown(os.Stdout, rep)
	default:
		writeText(os.Stdout, rep)
	}
	if len(rep.Errors) > 0 {
		return 1
	}
	if o.check {
		for _, r := range rep.Rows {
			if r.Result == resFail {
				return 1
			}
		}
	}
	return 0
}

// selected parses --only.
func selected(only string) (map[string]bool, error) {
	sel := make(map[string]bool)
	if only == "" {
		for _, w := range workloadNames {
			sel[w] = true
		}
		return sel, nil
	}
	for _, w := range strings.Split(only, ",") {
		w = strings.TrimSpace(w)
		if _, ok := sizes[w]; !ok {
			return nil, fmt.Errorf("--only: unknown workload %q (want %s)", w, strings.Join(workloadNames, ", "))
		}
		sel[w] = true
	}
	return sel, nil
}

// newEnv finds the repository (the enclosing folder whose go.mod is
// onnxtune's) and this program.
func newEnv(o options) (*env, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root := ""
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/onnxtune/onnxtune\n") {
			root = dir
			break
		}
		if filepath.Dir(dir) == dir {
			return nil, fmt.Errorf("run from inside the onnxtune repository (no go.mod of github.com/onnxtune/onnxtune above %s)", wd)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &env{exe: exe, python: o.python, script: filepath.Join(root, "tools", "bench", "torch_bench.py"), root: root,
		dir: filepath.Join(root, ".cache", "bench"), models: filepath.Join(root, "models"), verbose: o.verbose}, nil
}

// preflight checks the tools the selected workloads need and makes the
// fixtures, so that a missing tool fails at once with what to install.
func (e *env) preflight(ctx context.Context, sel map[string]bool) error {
	if err := e.checkPython(ctx); err != nil {
		return err
	}
	if sel["infer"] {
		if _, err := ort.LibraryPath(); err != nil {
			return fmt.Errorf("%w (ONNX Runtime is the inference reference)", err)
		}
	}
	if sel["resnet"] || sel["infer"] || sel["io"] {
		logf("checking the ResNet-18 fixtures in %s ...", e.dir)
		return e.fixtures(ctx)
	}
	return nil
}

// plan is the workers of one workload: onnxtune, the reference the target
// is against, and optionally a reference shown for context.
type plan struct {
	ours, ref job
	context   *job
}

func plans(o options, e *env) map[string]plan {
	ps := make(map[string]plan)
	for name, s := range sizes {
		z := s[0]
		if o.quick {
			z = s[1]
		}
		if o.steps > 0 {
			z.steps = o.steps
		}
		if o.budget >= 0 {
			z.budget = o.budget
		}
		j := job{workload: name, warmup: z.warmup, steps: z.steps, budget: z.budget}
		switch name {
		case "lenet":
			j.batch = 64
		case "resnet", "infer":
			j.batch = 16
		case "scaling":
			j.batches = "8,16,32,64"
		case "io":
			j.file = filepath.Join(e.dir, "resnet18_64px_preserve.onnx")
		}
		p := plan{ours: j, ref: j}
		p.ours.impl, p.ref.impl = "onnxtune", "pytorch"
		switch name {
		case "infer":
			p.ref.impl = "onnxruntime"
			c := j
			c.impl = "pytorch"
			p.context = &c
		case "io":
			p.ref.impl = "onnx-python"
		}
		ps[name] = p
	}
	return ps
}

// measure runs the selected workloads, round after round, and builds the
// report. A failed worker is reported and the rest still run.
func measure(ctx context.Context, e *env, o options, sel map[string]bool) *Report {
	rep := &Report{Rounds: o.rounds, Method: ratioMethod, Machine: machine()}
	ps := plans(o, e)
	all := make(map[string]runs)
	var stealSum, stealN float64
	versions := map[string]bool{runtime.Version(): true}
	for _, name := range workloadNames {
		if !sel[name] {
			continue
		}
		p := ps[name]
		jobs := []job{p.ours, p.ref}
		if p.context != nil {
			jobs = append(jobs, *p.context)
		}
		rs := make(runs)
		for round := 1; round <= o.rounds; round++ {
			for _, j := range jobs {
				if ctx.Err() != nil {
					rep.Errors = append(rep.Errors, "interrupted")
					return finish(rep, all, versions, stealSum, stealN)
				}
				logf("%s, round %d/%d: %s ...", name, round, o.rounds, j.impl)
				res, err := e.run(ctx, j)
				if err != nil {
					logf("%v", err)
					rep.Errors = append(rep.Errors, err.Error())
					rs[j.impl] = append(rs[j.impl], nil)
					continue
				}
				logf("%s, round %d/%d: %s: step %s (min %s, %d steps), start-up %s, peak RSS %.0f MB, steal %.1f%%",
					name, round, o.rounds, j.impl, formatValue(res.MedianMS, "ms"), formatValue(res.MinMS, "ms"),
					len(res.TimesMS), formatValue(res.StartupMS, "ms"), peakMB(res), res.StealPct)
				rs[j.impl] = append(rs[j.impl], res)
				rep.Workers = append(rep.Workers, WorkerRecord{Round: round, Result: *res})
				stealSum += res.StealPct
				stealN++
				if res.Version != "" {
					versions[res.Version] = true
				}
			}
		}
		all[name] = rs
	}
	return finish(rep, all, versions, stealSum, stealN)
}

func finish(rep *Report, all map[string]runs, versions map[string]bool, stealSum, stealN float64) *Report {
	for v := range versions {
		rep.Versions = append(rep.Versions, v)
	}
	sort.Strings(rep.Versions)
	if stealN > 0 {
		rep.StealPct = number(stealSum / stealN)
	}
	rep.Rows, rep.Startup, rep.Scaling = tables(all)
	return rep
}

// tables builds the rows of every workload that ran.
func tables(all map[string]runs) ([]Row, []StartupRow, *ScalingTable) {
	var rows []Row
	var startup []StartupRow
	su := func(name string, r runs, ref, refName string) {
		startup = append(startup, StartupRow{Workload: name, Ours: number(finiteMedian(r.values("onnxtune", startMS))),
			Reference: refName, Theirs: number(finiteMedian(r.values(ref, startMS)))})
	}
	if r, ok := all["lenet"]; ok {
		rows = append(rows, compare("train step: LeNet-MNIST b64", r, "onnxtune", "pytorch", "PyTorch", stepTime, trainTarget))
		su("train LeNet-MNIST b64", r, "pytorch", "PyTorch")
	}
	if r, ok := all["resnet"]; ok {
		rows = append(rows, compare("train step: ResNet-18 3x64x64 b16", r, "onnxtune", "pytorch", "PyTorch", stepTime, trainTarget))
		su("train ResNet-18 b16", r, "pytorch", "PyTorch")
	}
	if r, ok := all["infer"]; ok {
		rows = append(rows, compare("inference: ResNet-18 3x64x64 b16", r, "onnxtune", "onnxruntime", "ONNX Runtime", stepTime, inferTarget))
		rows = append(rows, compare("inference: ResNet-18 3x64x64 b16", r, "onnxtune", "pytorch", "PyTorch", stepTime, nil))
		su("inference ResNet-18 b16", r, "onnxruntime", "ONNX Runtime")
	}
	if r, ok := all["io"]; ok {
		row := compare("import+export: ResNet-18 file", r, "onnxtune", "onnx-python", "onnx (Python)", stepTime, nil)
		if mb := ioMB(r); mb > 0 {
			mbps := func(v number) string { return fmt.Sprintf(" (%.0f MB/s)", mb/float64(v)*1000) }
			row.Workload = fmt.Sprintf("import+export: ResNet-18 file, %.1f MB", mb)
			row.oursText += mbps(row.Ours)
			row.theirsText += mbps(row.Theirs)
			row.Note = "MB/s = file size / (load + write) time"
		}
		rows = append(rows, row)
	}
	if r, ok := all["lenet"]; ok {
		rows = append(rows, compare("peak RSS: train LeNet-MNIST b64", r, "onnxtune", "pytorch", "PyTorch", peakRSS, memoryTarget))
	}
	if r, ok := all["resnet"]; ok {
		rows = append(rows, compare("peak RSS: train ResNet-18 b16", r, "onnxtune", "pytorch", "PyTorch", peakRSS, memoryTarget))
	}
	var st *ScalingTable
	if r, ok := all["scaling"]; ok {
		if st = scalingTable(r); st != nil {
			rows = append(rows, scalingRow(st))
		}
	}
	return rows, startup, st
}

// ioMB is the size of the io workload's file in MB (1e6 bytes).
func ioMB(r runs) float64 {
	for _, rs := range r {
		for _, res := range rs {
			if res != nil && res.Bytes > 0 {
				return float64(res.Bytes) / 1e6
			}
		}
	}
	return 0
}

// machine describes the CPU and the Go runtime's view of it.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS %d, %s, %s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS+"/"+runtime.GOARCH)
}
