// Command bench is onnxtune's performance harness (docs/performance.md): it
// runs onnxtune, today's PyTorch and ONNX Runtime (the repository's .venv,
// made by scripts/reference-tools.sh; each the faster of 1 and 2 threads) on
// the same models and batches and prints their ratios against the targets
// of the performance issue (15).
//
//	go run ./tools/bench             # everything, about 15 minutes
//	go run ./tools/bench --quick     # a smoke check: one round, few steps
//	go run ./tools/bench --only lenet,scaling --markdown
//
// Every measurement is its own process, so that its peak resident memory is
// its own: the driver re-executes itself ("bench worker ...") for onnxtune,
// ONNX Runtime (the venv's libonnxruntime through internal/ort) and the
// whole-command workload, and runs .venv/bin/python tools/bench/torch_bench.py
// for PyTorch. Each worker prints one JSON line (Result). Workers of a
// workload alternate, onnxtune then reference, for --rounds rounds.
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
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/cpu"

	"github.com/onnxtune/onnxtune/internal/gemm"
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
var workloadNames = []string{"lenet", "resnet", "mobilenet", "effnet", "encoder", "lstm", "infer", "infer-mobilenet",
	"cli", "io", "scaling"}

// sizing is how long a workload's workers measure.
type sizing struct {
	warmup, steps int
	budget        float64 // seconds of steady state per worker
}

// sizes: default and --quick. A budget cuts a slow worker short (after at
// least 3 steps). The references time 1 and 2 threads in turn, so their
// budget covers both. A round of a training workload is 30 steps (10 until
// issue 15's ninth session: a round of ResNet-18 was then under a second
// of our steps, and one slow spell of the host could make it, 81.6 and
// 106 ms in the two rounds of one run), and scaling's 60 steps of each
// batch size (15 until then: its R² moved between 0.97 and 0.9996 from run
// to run of the same build).
var sizes = map[string][2]sizing{
	"lenet":           {{warmup: 5, steps: 40, budget: 10}, {warmup: 1, steps: 5}},
	"resnet":          {{warmup: 3, steps: 30, budget: 25}, {warmup: 1, steps: 2}},
	"mobilenet":       {{warmup: 3, steps: 30, budget: 20}, {warmup: 1, steps: 2}},
	"effnet":          {{warmup: 3, steps: 30, budget: 20}, {warmup: 1, steps: 2}},
	"encoder":         {{warmup: 1, steps: 5, budget: 30}, {warmup: 0, steps: 1}},
	"lstm":            {{warmup: 3, steps: 30, budget: 20}, {warmup: 1, steps: 2}},
	"infer":           {{warmup: 10, steps: 100, budget: 10}, {warmup: 1, steps: 3}},
	"infer-mobilenet": {{warmup: 10, steps: 100, budget: 10}, {warmup: 1, steps: 3}},
	"cli":             {{warmup: 2, steps: 13}, {warmup: 1, steps: 4}},
	"io":              {{warmup: 1, steps: 5, budget: 15}, {warmup: 0, steps: 1}},
	"scaling":         {{warmup: 5, steps: 60, budget: 15}, {warmup: 1, steps: 3}},
}

type options struct {
	quick, json, markdown, check, verbose bool
	referenceAVX2, referenceSteady        bool
	only                                  string
	steps, rounds                         int
	budget, rerunAbove                    float64
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
	fs.IntVar(&o.rounds, "rounds", 0, "rounds of onnxtune/reference workers per workload (default 3, 1 with --quick)")
	fs.Float64Var(&o.budget, "budget", -1, "seconds of steady state per worker at most, 0 for no limit (-1: per workload)")
	fs.StringVar(&o.python, "python", "", "the Python interpreter with torch, torchvision, onnx, onnxruntime and transformers (default .venv/bin/python, made by scripts/reference-tools.sh)")
	fs.BoolVar(&o.referenceAVX2, "reference-avx2", false, "also time PyTorch held to its AVX2 kernels ("+strings.Join(avx2TorchEnv, " ")+
		") beside the native one, on the training and inference workloads: the like-for-like reference of an ONNXTUNE_GEMM=avx2 run (ONNX Runtime has no such switch)")
	fs.BoolVar(&o.referenceSteady, "reference-steady", false, "also time PyTorch on the training workloads with glibc's malloc keeping the memory it frees ("+
		strings.Join(steadyTorchEnv, " ")+"): PyTorch without the page faults that its default malloc settings cause at every step in some processes; rows without a target")
	fs.Float64Var(&o.rerunAbove, "rerun-above", 5, "run a round again (at most "+strconv.Itoa(rerunsMax)+" times a workload) when other processes took more than this percent of the machine's CPU time while one of its workers ran; 0: never")
	fs.BoolVar(&o.check, "check", false, "exit with status 1 when a target is missed")
	fs.BoolVar(&o.verbose, "v", false, "show the workers' stderr")
	// The flag package's own messages are dropped: --help prints the
	// flags, a bad flag is one line.
	fs.SetOutput(io.Discard)
	err := fs.Parse(argv)
	rest := fs.Args()
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(os.Stderr)
		fmt.Fprintln(os.Stderr, "usage: go run ./tools/bench [flags]  (docs/performance.md, \"How to reproduce\")")
		fs.PrintDefaults()
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v (see 'go run ./tools/bench --help')\n", err)
		return 2
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", rest)
		return 2
	}
	if err := checkNumbers(fs, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v (see 'go run ./tools/bench --help')\n", err)
		return 2
	}
	sel, err := selected(o.only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	// The workers inherit ONNXTUNE_GEMM: refuse one they could not honour,
	// so that a figure meant for one kernel is never made with another.
	if _, err := gemm.Kernel(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if o.rounds <= 0 {
		o.rounds = 3
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
	before := probeCores("before", probeTime)
	logf("core probe, %s", before)
	rep := measure(ctx, e, o, sel)
	after := probeCores("after", probeTime)
	logf("core probe, %s", after)
	rep.Probes = []CoreProbe{before, after}
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

// checkNumbers refuses the flags given explicitly with a value that would
// otherwise be read as their default: --rounds and --steps below 1, a
// negative --budget other than -1, an empty --only.
func checkNumbers(fs *flag.FlagSet, o options) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case err != nil:
		case f.Name == "rounds" && o.rounds < 1:
			err = fmt.Errorf("--rounds %d: want at least 1", o.rounds)
		case f.Name == "steps" && o.steps < 1:
			err = fmt.Errorf("--steps %d: want at least 1", o.steps)
		case f.Name == "budget" && o.budget < 0 && o.budget != -1:
			err = fmt.Errorf("--budget %g: want seconds >= 0 (0: no limit), or -1 for each workload's own", o.budget)
		case f.Name == "rerun-above" && !(o.rerunAbove >= 0 && o.rerunAbove <= 100):
			err = fmt.Errorf("--rerun-above %g: want a percent from 0 (never) to 100", o.rerunAbove)
		case f.Name == "only" && strings.TrimSpace(o.only) == "":
			err = fmt.Errorf("--only is empty: name workloads (%s), or leave it out for all", strings.Join(workloadNames, ", "))
		}
	})
	return err
}

// probeTime is how long each half of the core probe runs.
const probeTime = 700 * time.Millisecond

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
	if o.python == "" {
		o.python = filepath.Join(root, ".venv", "bin", "python")
	}
	return &env{exe: exe, python: o.python, script: filepath.Join(root, "tools", "bench", "torch_bench.py"), root: root,
		dir: filepath.Join(root, ".cache", "bench"), models: filepath.Join(root, "models"), verbose: o.verbose}, nil
}

// preflight checks the tools the selected workloads need, makes the
// fixtures and builds the onnxtune binary of the cli workload, so that a
// missing tool fails at once with what to install.
func (e *env) preflight(ctx context.Context, sel map[string]bool) error {
	if err := e.checkPython(ctx); err != nil {
		return err
	}
	if sel["infer"] || sel["infer-mobilenet"] {
		lib := os.Getenv(ort.EnvLibrary)
		if lib == "" {
			lib = e.ortLib
		}
		if lib == "" {
			return fmt.Errorf("the Python onnxruntime package has no libonnxruntime.so and %s is not set (ONNX Runtime is the inference reference); reinstall it with: %s", ort.EnvLibrary, installHint)
		}
		if _, err := os.Stat(lib); err != nil {
			return fmt.Errorf("ONNX Runtime library: %w (ONNX Runtime is the inference reference)", err)
		}
	}
	if names := fixtureNames(sel); len(names) > 0 {
		logf("checking the fixtures %s in %s ...", strings.Join(names, ", "), e.dir)
		if err := e.fixtures(ctx, names); err != nil {
			return err
		}
	}
	if sel["cli"] {
		logf("building cmd/onnxtune into %s ...", e.dir)
		return e.build(ctx)
	}
	return nil
}

// fixtureNames are the fixtures (torch_bench.py fixtures --only) the
// selected workloads need, in a fixed order.
func fixtureNames(sel map[string]bool) []string {
	need := map[string]bool{}
	for w := range sel {
		switch {
		case w == "infer" || w == "io" || w == "cli":
			need["resnet"] = true
		case inferModel[w] != "":
			need[inferModel[w]] = true
		case specs[w].file != "":
			need[w] = true
		}
	}
	if sel["cli"] {
		need["cli"] = true
	}
	var names []string
	for _, n := range []string{"resnet", "mobilenet", "effnet", "encoder", "lstm", "cli"} {
		if need[n] {
			names = append(names, n)
		}
	}
	return names
}

// plan is the workers of one workload: onnxtune, the reference the target
// is against, and references shown for context.
type plan struct {
	ours, ref job
	context   []job
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
			if name == "cli" {
				z.steps = max(o.steps, z.warmup+2)
			}
		}
		if o.budget >= 0 {
			z.budget = o.budget
		}
		j := job{workload: name, warmup: z.warmup, steps: z.steps, budget: z.budget}
		switch {
		case specs[name].batch > 0:
			j.batch = specs[name].batch
		case inferModel[name] != "":
			j.batch = specs[inferModel[name]].batch
		case name == "cli":
			j.batch, j.file = specs["resnet"].batch, filepath.Join(e.dir, specs["resnet"].file)
		case name == "scaling":
			j.batches = "8,16,32,64"
		case name == "io":
			j.file = filepath.Join(e.dir, specs["resnet"].file)
		}
		p := plan{ours: j, ref: j}
		p.ours.impl, p.ref.impl = "onnxtune", "pytorch"
		switch {
		case inferModel[name] != "":
			p.ref.impl = "onnxruntime"
			c := j
			c.impl = "pytorch"
			p.context = append(p.context, c)
		case name == "io":
			p.ref.impl = "onnx-python"
		}
		if o.referenceAVX2 && (specs[name].batch > 0 || inferModel[name] != "") {
			c := j
			c.impl = avx2Torch
			p.context = append(p.context, c)
		}
		if o.referenceSteady && specs[name].batch > 0 {
			c := j
			c.impl = steadyTorch
			p.context = append(p.context, c)
		}
		ps[name] = p
	}
	return ps
}

// measure runs the selected workloads, round after round, and builds the
// report. A failed worker is reported, in its rows and in the errors, and
// the rest still run.
func measure(ctx context.Context, e *env, o options, sel map[string]bool) *Report {
	rep := &Report{Rounds: o.rounds, Quick: o.quick, Method: ratioMethod, Machine: machine()}
	ps := plans(o, e)
	all := make(map[string]runs)
	failed := make(map[string]string)
	var stealSum, otherSum, stealN float64
	versions := map[string]bool{runtime.Version(): true}
	if e.pyVersions != "" {
		versions[e.pyVersions] = true
	}
	for _, name := range workloadNames {
		if !sel[name] {
			continue
		}
		p := ps[name]
		jobs := append([]job{p.ours, p.ref}, p.context...)
		rs := make(runs)
		all[name] = rs
		if msg := fixtureError(name, e.fixtureErrs); msg != "" {
			rep.Errors = append(rep.Errors, name+": "+msg)
			failed[name+"/onnxtune"] = msg
			for _, j := range jobs {
				rs[j.impl] = make([]*Result, o.rounds)
			}
			continue
		}
		reruns := 0
		for round := 1; round <= o.rounds; round++ {
			// The round's results, kept once the round stands.
			type done struct {
				j   job
				res *Result
				err error
			}
			var got []done
			for _, j := range jobs {
				if ctx.Err() != nil {
					rep.Errors = append(rep.Errors, "interrupted")
					return finish(rep, all, failed, versions, stealSum, otherSum, stealN)
				}
				logf("%s, round %d/%d: %s ...", name, round, o.rounds, j.impl)
				res, err := e.run(ctx, j)
				if err != nil {
					logf("%v", err)
				} else {
					logf("%s, round %d/%d: %s: step %s (min %s, %d steps%s), start-up %s, peak RSS %.0f MB, other load %.0f%%",
						name, round, o.rounds, j.impl, formatValue(res.MedianMS, "ms"), formatValue(res.MinMS, "ms"),
						len(res.TimesMS), threadsText(res), formatValue(res.StartupMS, "ms"), peakMB(res), res.OtherPct)
				}
				got = append(got, done{j, res, err})
			}
			results := make([]*Result, len(got))
			for i, d := range got {
				results[i] = d.res
			}
			if why := disturbed(results, o.rerunAbove); why != "" && reruns < rerunsMax {
				reruns++
				msg := fmt.Sprintf("%s round %d: %s; run again", name, round, why)
				logf("%s", msg)
				rep.Reruns = append(rep.Reruns, msg)
				round--
				continue
			}
			for _, d := range got {
				j, res, err := d.j, d.res, d.err
				if err != nil {
					rep.Errors = append(rep.Errors, err.Error())
					if _, ok := failed[name+"/"+j.impl]; !ok {
						failed[name+"/"+j.impl] = err.Error()
					}
					rs[j.impl] = append(rs[j.impl], nil)
					continue
				}
				rs[j.impl] = append(rs[j.impl], res)
				rep.Workers = append(rep.Workers, WorkerRecord{Round: round, Result: *res})
				stealSum += res.StealPct
				otherSum += res.OtherPct
				stealN++
				if res.Version != "" && !j.python() {
					versions[res.Version] = true
				}
			}
		}
	}
	return finish(rep, all, failed, versions, stealSum, otherSum, stealN)
}

// rerunsMax is how many rounds of a workload --rerun-above runs again.
const rerunsMax = 2

// disturbed says why a round whose workers gave results (nil for a failed
// worker) does not stand: other processes took more than limit percent of
// the machine's CPU time while one of them ran ("" when none did, or limit
// is 0). A round the host or another program slowed measures neither side,
// and one side's slowed round moves the ratio.
func disturbed(results []*Result, limit float64) string {
	if limit <= 0 {
		return ""
	}
	for _, r := range results {
		if r != nil && r.OtherPct > limit {
			return fmt.Sprintf("other processes took %.1f%% of the CPU while %s ran (over %g%%)", r.OtherPct, r.Impl, limit)
		}
	}
	return ""
}

// fixtureError is the message of the fixture a workload needs that could not
// be made ("" when it has its fixtures).
func fixtureError(workload string, errs map[string]string) string {
	for _, f := range fixtureNames(map[string]bool{workload: true}) {
		if msg, ok := errs[f]; ok {
			return fmt.Sprintf("making its fixture %q: %s", f, msg)
		}
	}
	return ""
}

// threadsText is ", 2 threads" for a worker that measured thread counts.
func threadsText(r *Result) string {
	if r.Threads == 0 {
		return ""
	}
	return fmt.Sprintf(", %d thread(s) faster", r.Threads)
}

func finish(rep *Report, all map[string]runs, failed map[string]string, versions map[string]bool, stealSum, otherSum, stealN float64) *Report {
	for v := range versions {
		rep.Versions = append(rep.Versions, v)
	}
	sort.Strings(rep.Versions)
	if stealN > 0 {
		rep.StealPct, rep.OtherPct = number(stealSum/stealN), number(otherSum/stealN)
	}
	rep.Rows, rep.Startup, rep.Scaling = tables(all, failed)
	rep.Threads = threadTable(all)
	return rep
}

// trainWorkloads are the training workloads, in order.
var trainWorkloads = []string{"lenet", "resnet", "mobilenet", "effnet", "encoder", "lstm"}

// tables builds the rows of every workload that ran. failed holds the
// first error of each workload/impl whose worker failed: a row without a
// ratio names it.
func tables(all map[string]runs, failed map[string]string) ([]Row, []StartupRow, *ScalingTable) {
	var rows []Row
	var startup []StartupRow
	su := func(name string, r runs, ref, refName string) {
		startup = append(startup, StartupRow{Workload: name, Ours: number(finiteMedian(r.values("onnxtune", startMS))),
			Reference: refName, Theirs: number(finiteMedian(r.values(ref, startMS)))})
	}
	add := func(w string, row Row, ref string) {
		if row.Result == resError {
			for _, impl := range []string{"onnxtune", ref} {
				if msg, ok := failed[w+"/"+impl]; ok {
					row.Note = lastErrorLine(msg)
					break
				}
			}
		}
		rows = append(rows, row)
	}
	for _, w := range trainWorkloads {
		if r, ok := all[w]; ok {
			add(w, compare("train step: "+specs[w].name, r, "onnxtune", "pytorch", "PyTorch", stepTime, trainTarget), "pytorch")
			for _, impl := range []string{avx2Torch, steadyTorch} {
				if _, ok := r[impl]; ok {
					add(w, compare("train step: "+specs[w].name, r, "onnxtune", impl, refNames[impl], stepTime, nil), impl)
				}
			}
			su("train "+specs[w].name, r, "pytorch", "PyTorch")
		}
	}
	for _, w := range []string{"infer", "infer-mobilenet"} {
		if r, ok := all[w]; ok {
			name := "inference: " + specs[inferModel[w]].name
			add(w, compare(name, r, "onnxtune", "onnxruntime", "ONNX Runtime", stepTime, inferTarget), "onnxruntime")
			add(w, compare(name, r, "onnxtune", "pytorch", "PyTorch", stepTime, nil), "pytorch")
			if _, ok := r[avx2Torch]; ok {
				add(w, compare(name, r, "onnxtune", avx2Torch, refNames[avx2Torch], stepTime, nil), avx2Torch)
			}
			su("inference "+specs[inferModel[w]].name, r, "onnxruntime", "ONNX Runtime")
		}
	}
	if r, ok := all["cli"]; ok {
		row := compare("onnxtune train CLI, steady step: ResNet-18 b16 npz", r, "onnxtune", "pytorch", "PyTorch script", stepTime, nil)
		row.Note = "intervals between the per-step lines of --metrics, after the warm-up; start-up and tail in the start-up table"
		add("cli", row, "pytorch")
		su("train CLI ResNet-18 b16 (to the first step done)", r, "pytorch", "PyTorch script")
		tailMS := func(r *Result) float64 { return r.TailMS }
		startup = append(startup, StartupRow{Workload: "train CLI ResNet-18 b16 (last step to exit: write the model)",
			Ours: number(finiteMedian(r.values("onnxtune", tailMS))), Reference: "PyTorch script",
			Theirs: number(finiteMedian(r.values("pytorch", tailMS)))})
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
		add("io", row, "onnx-python")
	}
	for _, w := range trainWorkloads {
		if r, ok := all[w]; ok {
			add(w, compare("peak RSS: train "+specs[w].name, r, "onnxtune", "pytorch", "PyTorch", peakRSS, memoryTarget), "pytorch")
		}
	}
	if r, ok := all["cli"]; ok {
		add("cli", compare("peak RSS: train CLI ResNet-18 b16", r, "onnxtune", "pytorch", "PyTorch script", peakRSS, nil), "pytorch")
	}
	var st *ScalingTable
	if r, ok := all["scaling"]; ok {
		if st = scalingTable(r); st != nil {
			rows = append(rows, scalingRow(st))
		} else if msg, ok := failed["scaling/onnxtune"]; ok {
			rows = append(rows, Row{Workload: "scaling: LeNet step", Reference: "PyTorch", Ratio: number(math.NaN()),
				Best: number(math.NaN()), Result: resError, Note: lastErrorLine(msg), oursText: "-", theirsText: "-"})
		}
	}
	return rows, startup, st
}

// lastErrorLine is the last non-empty line of a worker's error (the
// worker's own message, after the driver's context), at most 160 bytes.
func lastErrorLine(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 160 {
		l = l[:157] + "..."
	}
	return l
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

// machine describes the CPU, its vector extensions and the Go runtime's
// view of it.
func machine() Machine {
	m := Machine{CPU: "unknown CPU", Extensions: vectorExtensions(x86Extensions), NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		When: time.Now().UTC().Format("2006-01-02 15:04 UTC"), GEMM: gemmSetting(os.Getenv("ONNXTUNE_GEMM"), kernelName())}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if name := cpuModel(string(b)); name != "" {
			m.CPU = name
		}
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo ("" if none), with
// the first processor's "cpu family" and "model" when it has them: a
// virtual machine may name only the vendor's line ("AMD EPYC"), and the
// family tells the core (AMD's 25 is Zen 3 and Zen 4, 26 Zen 5).
func cpuModel(cpuinfo string) string {
	fields := map[string]string{}
	for _, l := range strings.Split(cpuinfo, "\n") {
		if strings.TrimSpace(l) == "" && len(fields) > 0 {
			break // the end of the first processor
		}
		if k, v, ok := strings.Cut(l, ":"); ok {
			if k = strings.TrimSpace(k); fields[k] == "" {
				fields[k] = strings.TrimSpace(v)
			}
		}
	}
	name := fields["model name"]
	if name != "" && fields["cpu family"] != "" && fields["model"] != "" {
		name += fmt.Sprintf(" (family %s, model %s)", fields["cpu family"], fields["model"])
	}
	return name
}

// extension is one vector extension and whether this CPU (and its OS) has it.
type extension struct {
	name string
	has  bool
}

// x86Extensions are the vector extensions the kernels and the references
// may use, as golang.org/x/sys/cpu detects them (all false off x86).
var x86Extensions = []extension{
	{"avx", cpu.X86.HasAVX}, {"avx2", cpu.X86.HasAVX2}, {"fma", cpu.X86.HasFMA},
	{"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW}, {"avx512vl", cpu.X86.HasAVX512VL},
	{"avx512dq", cpu.X86.HasAVX512DQ}, {"avx512cd", cpu.X86.HasAVX512CD}, {"avx512vnni", cpu.X86.HasAVX512VNNI},
	{"avx512bf16", cpu.X86.HasAVX512BF16}, {"avx512ifma", cpu.X86.HasAVX512IFMA}, {"avx512vbmi", cpu.X86.HasAVX512VBMI},
	{"avxvnni", cpu.X86.HasAVXVNNI}, {"amx-bf16", cpu.X86.HasAMXBF16},
}

// vectorExtensions lists the names of the extensions present, in order.
func vectorExtensions(exts []extension) []string {
	var names []string
	for _, e := range exts {
		if e.has {
			names = append(names, e.name)
		}
	}
	return names
}

// gemmSetting says which GEMM kernel the workers use (they inherit
// $ONNXTUNE_GEMM, which drive has checked) and whether it was forced.
func gemmSetting(v, kernel string) string {
	if v == "" {
		return kernel + " (ONNXTUNE_GEMM unset: the best this CPU runs)"
	}
	return kernel + " (ONNXTUNE_GEMM=" + v + ")"
}

// kernelName is the GEMM kernel this process, and so each worker, uses.
func kernelName() string {
	k, _ := gemm.Kernel()
	return k
}
