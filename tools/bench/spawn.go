package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onnxtune/onnxtune/internal/ort"
)

// installHint names what installs the reference side.
const installHint = "bash scripts/reference-tools.sh (today's PyTorch, torchvision, onnx, onnxruntime and transformers in .venv)"

// env is where the driver finds its workers and their files.
type env struct {
	exe     string // this program, re-executed as the Go worker
	python  string // .venv/bin/python
	script  string // tools/bench/torch_bench.py
	root    string // repository root
	dir     string // fixture folder, .cache/bench
	models  string // models/
	bin     string // the onnxtune binary of the cli workload, built by the driver
	verbose bool   // stream workers' stderr
	// ortLib is the ONNX Runtime library the Go worker loads (the venv's
	// onnxruntime package's, unless $ONNXTUNE_ORT_LIB names one);
	// pyVersions are the versions torch_bench.py check printed.
	ortLib, pyVersions string
	// fixtureErrs are the fixtures torch_bench.py could not make, by
	// name: their workloads report the message instead of running.
	fixtureErrs map[string]string
}

// job is one worker run.
type job struct {
	impl     string // onnxtune, onnxruntime (Go worker); pytorch, pytorch-avx2, onnx-python (Python)
	workload string // one of workloadNames
	batch    int
	batches  string
	file     string
	warmup   int
	steps    int
	budget   float64
}

// python says whether torch_bench.py is the worker. The cli workload's
// worker is always the Go one: it times whole processes, either side's.
func (j job) python() bool {
	return (j.impl == "pytorch" || j.impl == avx2Torch || j.impl == steadyTorch || j.impl == "onnx-python") && j.workload != "cli"
}

// avx2Torch is the impl of PyTorch held to its AVX2 kernels (--reference-avx2).
const avx2Torch = "pytorch-avx2"

// avx2TorchEnv are the variables that hold PyTorch to AVX2, one for each
// library its CPU kernels come from: ATen's own (ATEN_CPU_CAPABILITY),
// oneDNN's, which does its convolutions (ONEDNN_MAX_CPU_ISA), and MKL's
// GEMM (MKL_ENABLE_INSTRUCTIONS).
var avx2TorchEnv = []string{"ATEN_CPU_CAPABILITY=avx2", "ONEDNN_MAX_CPU_ISA=AVX2", "MKL_ENABLE_INSTRUCTIONS=AVX2"}

// steadyTorch is the impl of PyTorch with glibc's malloc keeping the
// memory it frees (--reference-steady).
const steadyTorch = "pytorch-steady"

// steadyTorchEnv keep glibc's malloc from handing freed blocks back to the
// kernel: by default blocks above its mmap threshold are mapped at every
// allocation and unmapped when freed, and the heap's top is trimmed, so a
// PyTorch process can take page faults on its large tensors at every step.
// Whether it does depends on the history of its frees (the threshold
// adapts): the LSTM step took 47.8-58.8 ms at 2 threads in most processes
// and 33.7-36.2 in some, and 32.0-32.8 in every process with these set
// (docs/performance.md).
var steadyTorchEnv = []string{"MALLOC_MMAP_THRESHOLD_=4000000000", "MALLOC_TRIM_THRESHOLD_=4000000000"}

// workerEnv is the environment of j's worker (nil: the driver's own).
// The malloc variables of steadyTorchEnv reach the steady worker only: set
// in the driver's environment they would make every other reference's
// figures, the verdict's included, those of PyTorch at its best instead of
// as users run it, so they are dropped.
func (e *env) workerEnv(j job) []string {
	var add []string
	if e.ortLib != "" && os.Getenv(ort.EnvLibrary) == "" {
		add = append(add, ort.EnvLibrary+"="+e.ortLib)
	}
	switch j.impl {
	case avx2Torch:
		add = append(add, avx2TorchEnv...)
	case steadyTorch:
		add = append(add, steadyTorchEnv...)
	}
	base := os.Environ()
	kept := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return j.impl != steadyTorch && slices.ContainsFunc(steadyTorchEnv, func(v string) bool {
			return strings.HasPrefix(kv, v[:strings.IndexByte(v, '=')+1])
		})
	})
	if len(add) == 0 && len(kept) == len(base) {
		return nil
	}
	return append(kept, add...)
}

// checkCapability refuses a result of the AVX2-only PyTorch worker made with
// other kernels, so that its figure is never an AVX-512 one, and labels it.
func checkCapability(j job, r *Result) error {
	if j.impl == steadyTorch {
		r.Impl = j.impl
		return nil
	}
	if j.impl != avx2Torch {
		return nil
	}
	if r.CPUCapability != "AVX2" {
		return fmt.Errorf("%s %s worker: PyTorch reports its CPU capability as %q under %s, want \"AVX2\"",
			j.impl, j.workload, r.CPUCapability, strings.Join(avx2TorchEnv, " "))
	}
	r.Impl = j.impl
	return nil
}

// args returns the worker's command line; the Go worker and torch_bench.py
// take the same flag names.
func (e *env) args(j job, t0 int64) (string, []string) {
	common := []string{"--dir", e.dir, "--models", e.models, "--t0", strconv.FormatInt(t0, 10),
		"--warmup", strconv.Itoa(j.warmup), "--steps", strconv.Itoa(j.steps),
		"--budget", strconv.FormatFloat(j.budget, 'f', -1, 64)}
	var specific []string
	_, train := specs[j.workload]
	switch {
	case train || inferModel[j.workload] != "":
		specific = []string{"--batch", strconv.Itoa(j.batch)}
	case j.workload == "scaling":
		specific = []string{"--batches", j.batches}
	case j.workload == "io":
		specific = []string{"--file", j.file, "--tmp", e.dir + "/tmp"}
	case j.workload == "cli":
		specific = []string{"--batch", strconv.Itoa(j.batch), "--file", j.file,
			"--data", filepath.Join(e.dir, cliData), "--tmp", e.dir + "/tmp", "--bin", e.bin,
			"--python", e.python, "--script", e.script}
	}
	if !j.python() {
		a := append([]string{"worker", "--impl", j.impl, "--workload", j.workload}, common...)
		return e.exe, append(a, specific...)
	}
	sub := j.workload
	switch {
	case train:
		sub, specific = "train", append([]string{"--model", j.workload}, specific...)
	case inferModel[j.workload] != "":
		sub, specific = "infer", append([]string{"--model", inferModel[j.workload], "--workload", j.workload}, specific...)
	}
	a := append([]string{e.script, sub}, common...)
	return e.python, append(a, specific...)
}

// run starts one worker, waits for it and returns its result with the CPU
// steal share of its run.
func (e *env) run(ctx context.Context, j job) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	before := readCPU()
	t0 := time.Now().UnixNano()
	name, argv := e.args(j, t0)
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Dir = e.root
	cmd.Env = e.workerEnv(j)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if e.verbose {
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	}
	err := cmd.Run()
	after := readCPU()
	steal := after.stealSince(before)
	var own float64
	if cmd.ProcessState != nil {
		own = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	other := after.otherSince(before, own)
	if err != nil {
		return nil, fmt.Errorf("%s %s worker: %w%s", j.impl, j.workload, err, tail(stderr.String(), 8))
	}
	r, err := parseResult(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s %s worker: %w%s", j.impl, j.workload, err, tail(stderr.String(), 8))
	}
	if err := checkCapability(j, &r); err != nil {
		return nil, err
	}
	r.StealPct, r.OtherPct = steal, other
	return &r, nil
}

// tail returns the last n lines of s, indented, after a newline; "" for none.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n    ")
	if strings.TrimSpace(out) == "" {
		return ""
	}
	return "\n    " + out
}

// cpuTimes is the first line of /proc/stat, in clock ticks (USER_HZ, 100 a
// second on Linux): all, idle (with iowait) and stolen.
type cpuTimes struct{ total, idle, steal float64 }

// userHZ is the unit of /proc/stat's times.
const userHZ = 100

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseCPU(line)
}

// parseCPU reads "cpu user nice system idle iowait irq softirq steal ...".
func parseCPU(line string) cpuTimes {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}
	}
	var c cpuTimes
	for i := 1; i <= 8; i++ {
		v, _ := strconv.ParseFloat(f[i], 64)
		c.total += v
		switch i {
		case 4, 5:
			c.idle += v
		case 8:
			c.steal = v
		}
	}
	return c
}

// otherSince is the percentage of all CPUs' time between before and c that
// processes other than the worker kept busy, given the worker's own CPU
// seconds: the other tenants of a shared machine (hypervisor steal counts as
// busy).
func (c cpuTimes) otherSince(before cpuTimes, ownCPU float64) float64 {
	d := c.total - before.total
	if d <= 0 {
		return 0
	}
	busy := (d - (c.idle - before.idle)) - ownCPU*userHZ
	return max(0, 100*busy/d)
}

// stealSince is the percentage of CPU time stolen between before and c.
func (c cpuTimes) stealSince(before cpuTimes) float64 {
	if d := c.total - before.total; d > 0 {
		return 100 * (c.steal - before.steal) / d
	}
	return 0
}

// pyScript runs torch_bench.py with a subcommand and returns its stdout. Exit
// status 3 is a missing package: its one-line message is the error.
func (e *env) pyScript(ctx context.Context, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, e.python, append([]string{e.script}, argv...)...)
	cmd.Dir = e.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			return nil, errors.New(strings.TrimSpace(stderr.String()))
		}
		return nil, fmt.Errorf("%s %s: %w%s", filepath.Base(e.script), argv[0], err, tail(stderr.String(), 8))
	}
	return out, nil
}

// cliData is the cli workload's training data in the fixture folder.
const cliData = "resnet_cli.npz"

// fixtures makes the named fixtures in e.dir (torch_bench.py fixtures
// --only; it skips those already made by this version of the script). A
// fixture the script could not make is kept in e.fixtureErrs.
func (e *env) fixtures(ctx context.Context, names []string) error {
	out, err := e.pyScript(ctx, "fixtures", "--dir", e.dir, "--only", strings.Join(names, ","))
	if err != nil {
		return fmt.Errorf("making the fixtures in %s: %w", e.dir, err)
	}
	var res struct {
		Made   []string          `json:"made"`
		Failed map[string]string `json:"failed"`
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		return fmt.Errorf("making the fixtures in %s: %w", e.dir, err)
	}
	if len(res.Made) > 0 {
		logf("made the fixtures %s in %s", strings.Join(res.Made, ", "), e.dir)
	}
	for name, msg := range res.Failed {
		logf("fixture %s: %s", name, msg)
	}
	e.fixtureErrs = res.Failed
	return nil
}

// lastLine is the last non-empty line of out.
func lastLine(out []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return lines[len(lines)-1]
}

// checkPython fails with a line naming scripts/reference-tools.sh when the
// interpreter or one of its packages is missing, and learns the versions and
// where the onnxruntime package keeps its shared library.
func (e *env) checkPython(ctx context.Context) error {
	if _, err := os.Stat(e.python); err != nil {
		return fmt.Errorf("%s not found: the reference side is today's PyTorch and ONNX Runtime in the repository's venv; install it with: %s", e.python, installHint)
	}
	out, err := e.pyScript(ctx, "check")
	if err != nil {
		return err
	}
	var res struct {
		Version string `json:"version"`
		ORTLib  string `json:"ort_lib"`
	}
	if err := json.Unmarshal(lastLine(out), &res); err != nil {
		return fmt.Errorf("%s check: %w", filepath.Base(e.script), err)
	}
	e.pyVersions, e.ortLib = res.Version, res.ORTLib
	return nil
}

// build compiles cmd/onnxtune into the fixture folder for the cli workload.
func (e *env) build(ctx context.Context) error {
	e.bin = filepath.Join(e.dir, "onnxtune")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.bin, "./cmd/onnxtune")
	cmd.Dir = e.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/onnxtune: %w%s", err, tail(string(out), 8))
	}
	return nil
}
