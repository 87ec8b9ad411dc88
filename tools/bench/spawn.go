package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// installHint names what to install for the reference side.
const installHint = "apt-get install -y python3-torch python3-torchvision python3-onnx"

// env is where the driver finds its workers and their files.
type env struct {
	exe     string // this program, re-executed as the Go worker
	python  string // /usr/bin/python3
	script  string // tools/bench/torch_bench.py
	root    string // repository root
	dir     string // fixture folder, .cache/bench
	models  string // models/
	verbose bool   // stream workers' stderr
}

// job is one worker run.
type job struct {
	impl     string // onnxtune, onnxruntime (Go worker); pytorch, onnx-python (Python)
	workload string // lenet, resnet, infer, io, scaling
	batch    int
	batches  string
	file     string
	warmup   int
	steps    int
	budget   float64
}

func (j job) python() bool { return j.impl == "pytorch" || j.impl == "onnx-python" }

// args returns the worker's command line; the Go worker and torch_bench.py
// take the same flag names.
func (e *env) args(j job, t0 int64) (string, []string) {
	common := []string{"--dir", e.dir, "--models", e.models, "--t0", strconv.FormatInt(t0, 10),
		"--warmup", strconv.Itoa(j.warmup), "--steps", strconv.Itoa(j.steps),
		"--budget", strconv.FormatFloat(j.budget, 'f', -1, 64)}
	var specific []string
	switch j.workload {
	case "lenet", "resnet", "infer":
		specific = []string{"--batch", strconv.Itoa(j.batch)}
	case "scaling":
		specific = []string{"--batches", j.batches}
	case "io":
		specific = []string{"--file", j.file, "--tmp", e.dir + "/tmp"}
	}
	if !j.python() {
		a := append([]string{"worker", "--impl", j.impl, "--workload", j.workload}, common...)
		return e.exe, append(a, specific...)
	}
	sub := j.workload
	if sub == "lenet" || sub == "resnet" {
		sub, specific = "train", append([]string{"--model", j.workload}, specific...)
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
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if e.verbose {
		cmd.Stderr = io.MultiWriter(&stderr, os.Stderr)
	}
	err := cmd.Run()
	steal := readCPU().stealSince(before)
	if err != nil {
		return nil, fmt.Errorf("%s %s worker: %w%s", j.impl, j.workload, err, tail(stderr.String(), 8))
	}
	r, err := parseResult(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%s %s worker: %w%s", j.impl, j.workload, err, tail(stderr.String(), 8))
	}
	r.StealPct = steal
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

// cpuTimes is the first line of /proc/stat, in clock ticks.
type cpuTimes struct{ total, steal float64 }

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
		if i == 8 {
			c.steal = v
		}
	}
	return c
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

// fixtures makes the ResNet-18 models in e.dir (torch_bench.py fixtures;
// it does nothing when they are there already).
func (e *env) fixtures(ctx context.Context) error {
	out, err := e.pyScript(ctx, "fixtures", "--dir", e.dir)
	if err != nil {
		return fmt.Errorf("making the ResNet-18 fixtures in %s: %w", e.dir, err)
	}
	if bytes.Contains(out, []byte(`"made": true`)) {
		logf("made the ResNet-18 fixtures in %s", e.dir)
	}
	return nil
}

// checkPython fails with what to install when the interpreter or one of
// its packages is missing.
func (e *env) checkPython(ctx context.Context) error {
	if _, err := os.Stat(e.python); err != nil {
		return fmt.Errorf("%s not found: the reference side needs Debian's Python with PyTorch; install it with: %s", e.python, installHint)
	}
	_, err := e.pyScript(ctx, "check")
	return err
}
