package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/ort"
	"github.com/onnxtune/onnxtune/train"
)

// Result is one measurement, printed by a worker (Go or torch_bench.py) as
// one JSON line on stdout.
type Result struct {
	Impl     string `json:"impl"`     // onnxtune, onnxruntime, pytorch, pytorch-avx2, onnx-python
	Workload string `json:"workload"` // one of workloadNames
	Batch    int    `json:"batch,omitempty"`
	// StartupMS runs from the driver starting the process to the first step
	// (or inference, or round trip) done: interpreter or runtime start,
	// imports, model load, compilation and the first step.
	StartupMS float64 `json:"startup_ms"`
	Warmup    int     `json:"warmup"` // steps run after the first and before timing
	// TimesMS are the steady-state steps; MedianMS and MinMS summarise them.
	TimesMS  []float64 `json:"times_ms"`
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
	// PeakRSSKB is the process's peak resident set (VmHWM), BaseRSSKB its
	// resident set before the model was loaded (after imports).
	PeakRSSKB int64   `json:"peak_rss_kb"`
	BaseRSSKB int64   `json:"base_rss_kb"`
	Bytes     int64   `json:"bytes,omitempty"`  // io: the model file's size
	Points    []Point `json:"points,omitempty"` // scaling: one per batch size
	Version   string  `json:"version,omitempty"`
	// CPUCapability is the kernel set PyTorch reports using
	// (torch.backends.cpu.get_cpu_capability(): "AVX512", "AVX2", ...).
	CPUCapability string `json:"cpu_capability,omitempty"`
	// Threads is the thread count of the reported times when the worker
	// measured several (PyTorch, ONNX Runtime: 1 and 2, steps interleaved;
	// the faster by median is the result); Variants lists each.
	Threads  int       `json:"threads,omitempty"`
	Variants []Variant `json:"variants,omitempty"`
	// TailMS is the cli workload's time from the last step to the
	// process's exit (writing the trained model).
	TailMS float64 `json:"tail_ms,omitempty"`
	// StealPct is set by the driver: the share of CPU time the hypervisor
	// gave to other machines while the worker ran (from /proc/stat).
	StealPct float64 `json:"steal_pct"`
	// OtherPct is set by the driver: the share of all CPUs' time that other
	// processes (and steal) kept busy while the worker ran.
	OtherPct float64 `json:"other_cpu_pct"`
}

// Variant is the steady-state step time with one thread count.
type Variant struct {
	Threads  int       `json:"threads"`
	TimesMS  []float64 `json:"times_ms"`
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
}

// fastest returns the variant of the smallest median (the first on a tie)
// and its index; -1 for none.
func fastest(vs []Variant) int {
	best := -1
	for i, v := range vs {
		if v.MedianMS > 0 && (best < 0 || v.MedianMS < vs[best].MedianMS) {
			best = i
		}
	}
	return best
}

// Point is the steady-state step time at one batch size.
type Point struct {
	Batch    int       `json:"batch"`
	TimesMS  []float64 `json:"times_ms"`
	MedianMS float64   `json:"median_ms"`
	MinMS    float64   `json:"min_ms"`
}

// parseResult reads the worker's result: the last line of out that starts
// with '{'. It checks the fields every result needs.
func parseResult(out []byte) (Result, error) {
	var line string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "{") {
			line = l
		}
	}
	if err := sc.Err(); err != nil {
		return Result{}, fmt.Errorf("reading worker output: %w", err)
	}
	if line == "" {
		return Result{}, errors.New("worker printed no JSON result line")
	}
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return Result{}, fmt.Errorf("worker result %.80q: %w", line, err)
	}
	switch {
	case r.Impl == "" || r.Workload == "":
		return r, fmt.Errorf("worker result %.80q: no impl or workload", line)
	case len(r.TimesMS) == 0 || r.MedianMS <= 0:
		return r, fmt.Errorf("worker result for %s %s: no step times", r.Impl, r.Workload)
	case r.PeakRSSKB <= 0:
		return r, fmt.Errorf("worker result for %s %s: no peak RSS", r.Impl, r.Workload)
	case r.Workload == "scaling" && len(r.Points) < 2:
		return r, fmt.Errorf("worker result for %s scaling: %d batch sizes, want at least 2", r.Impl, len(r.Points))
	}
	return r, nil
}

// workerArgs are the settings of one worker process; the Go worker and
// torch_bench.py take the same flag names.
type workerArgs struct {
	impl, workload string
	batch          int
	batches        string // scaling
	file, tmp      string // io, cli
	dir, models    string
	t0             int64 // driver's clock (Unix ns) when it started the process
	warmup, steps  int
	budget         float64 // seconds of steady state at most; 0: no limit
	// cli: the onnxtune binary, the Python interpreter and script, the data.
	bin, python, script, data string
}

// runWorker is the hidden "worker" subcommand: one measurement in this
// process, its result as one JSON line on stdout.
func runWorker(argv []string) error {
	var a workerArgs
	fs := flag.NewFlagSet("bench worker", flag.ContinueOnError)
	fs.StringVar(&a.impl, "impl", "onnxtune", "onnxtune or onnxruntime (cli: onnxtune or pytorch)")
	fs.StringVar(&a.workload, "workload", "", strings.Join(workloadNames, ", "))
	fs.IntVar(&a.batch, "batch", 0, "batch size")
	fs.StringVar(&a.batches, "batches", "8,16,32,64", "scaling: batch sizes")
	fs.StringVar(&a.file, "file", "", "io: the model file")
	fs.StringVar(&a.tmp, "tmp", "", "io, cli: folder for the written files")
	fs.StringVar(&a.dir, "dir", "", "fixture folder")
	fs.StringVar(&a.models, "models", "", "the repository's models/ folder")
	fs.Int64Var(&a.t0, "t0", time.Now().UnixNano(), "driver's clock (Unix ns) at spawn")
	fs.IntVar(&a.warmup, "warmup", 3, "warm-up steps after the first")
	fs.IntVar(&a.steps, "steps", 20, "steady-state steps at most (cli: steps of the run)")
	fs.Float64Var(&a.budget, "budget", 0, "seconds of steady state at most (0: no limit)")
	fs.StringVar(&a.bin, "bin", "", "cli: the onnxtune binary")
	fs.StringVar(&a.python, "python", "", "cli: the Python interpreter of the reference")
	fs.StringVar(&a.script, "script", "", "cli: tools/bench/torch_bench.py")
	fs.StringVar(&a.data, "data", "", "cli: the training data (.npz)")
	fs.SetOutput(os.Stderr)
	err := fs.Parse(argv)
	rest := fs.Args()
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("worker: unexpected arguments %q", rest)
	}
	var r Result
	_, train := specs[a.workload]
	switch {
	case a.impl == "onnxtune" && train:
		r, err = trainWorker(a)
	case a.impl == "onnxtune" && a.workload == "scaling":
		r, err = scalingWorker(a)
	case inferModel[a.workload] != "":
		r, err = inferWorker(a)
	case a.impl == "onnxtune" && a.workload == "io":
		r, err = ioWorker(a)
	case a.workload == "cli":
		r, err = cliWorker(a)
	default:
		return fmt.Errorf("worker: no workload %q for %q", a.workload, a.impl)
	}
	if err != nil {
		return fmt.Errorf("worker %s %s: %w", a.impl, a.workload, err)
	}
	if r.PeakRSSKB == 0 { // cli: the peak of its child processes
		r.PeakRSSKB = statusKB("VmHWM")
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// statusKB reads a kB field of /proc/self/status (VmHWM, VmRSS); 0 if absent.
func statusKB(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

func sinceMS(t0 int64) float64 { return float64(time.Now().UnixNano()-t0) / 1e6 }

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// timed runs each of fns warmup times, then all of them in turn up to steps
// times each (at least 3 when the budget cuts it short), and returns each
// one's steady-state times in ms. Interleaving the functions (thread counts,
// batch sizes) lets a slow spell of the machine hit them alike.
func timed(fns []func() error, warmup, steps int, budget float64) ([][]float64, error) {
	for _, fn := range fns {
		for i := 0; i < warmup; i++ {
			if err := fn(); err != nil {
				return nil, err
			}
		}
	}
	times := make([][]float64, len(fns))
	start := time.Now()
	for len(times[0]) < steps {
		for i, fn := range fns {
			t := time.Now()
			if err := fn(); err != nil {
				return nil, err
			}
			times[i] = append(times[i], ms(time.Since(t)))
		}
		if budget > 0 && time.Since(start).Seconds() > budget && len(times[0]) >= 3 {
			break
		}
	}
	return times, nil
}

func summarise(r *Result, times []float64) {
	r.TimesMS, r.MedianMS, r.MinMS = times, median(times), minimum(times)
}

// modelSpec is a workload's model, shared with torch_bench.py's SPEC.
type modelSpec struct {
	head    string // the parameters of the second group (lr 0.01)
	classes int
	shape   []int // one example
	vocab   int   // token ids in [0, vocab) for a token model; 0 for images
	batch   int
	file    string // the training export in the fixture folder ("" for LeNet)
	name    string // for the tables
}

// specs are the training workloads.
var specs = map[string]modelSpec{
	"lenet":     {head: "fc3.*", classes: 10, shape: []int{1, 28, 28}, batch: 64, name: "LeNet-MNIST b64"},
	"resnet":    {head: "fc.*", classes: 1000, shape: []int{3, 64, 64}, batch: 16, file: "resnet_train.onnx", name: "ResNet-18 3x64x64 b16"},
	"mobilenet": {head: "classifier.*", classes: 1000, shape: []int{3, 64, 64}, batch: 16, file: "mobilenet_train.onnx", name: "MobileNetV2 3x64x64 b16"},
	"effnet":    {head: "classifier.*", classes: 1000, shape: []int{3, 64, 64}, batch: 16, file: "effnet_train.onnx", name: "EfficientNet-B0 3x64x64 b16"},
	"encoder":   {head: "classifier.*", classes: 2, shape: []int{128}, vocab: 30522, batch: 8, file: "encoder_train.onnx", name: "BERT-base encoder seq 128 b8"},
	"lstm":      {head: "fc.*", classes: 10, shape: []int{64}, vocab: 10000, batch: 32, file: "lstm_train.onnx", name: "LSTM 2x256 seq 64 b32"},
}

// inferModel is the model of each inference workload (its eval export is
// MODEL_eval.onnx).
var inferModel = map[string]string{"infer": "resnet", "infer-mobilenet": "mobilenet"}

// trainFile is the model onnxtune fine-tunes for a workload.
func trainFile(a workerArgs, model string) string {
	if model == "lenet" {
		return filepath.Join(a.models, "mnist_lenet_10.onnx")
	}
	return filepath.Join(a.dir, specs[model].file)
}

// batchInputs returns a batch of the model's input: standard normal images
// or token ids uniform in the vocabulary, from a fixed seed; labels
// i % classes.
func batchInputs(model string, batch int) (*tensor.Dense, []int64) {
	s := specs[model]
	shape := append([]int{batch}, s.shape...)
	n := 1
	for _, d := range shape {
		n *= d
	}
	r := rand.New(rand.NewSource(1))
	y := make([]int64, batch)
	for i := range y {
		y[i] = int64(i % s.classes)
	}
	if s.vocab > 0 {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = r.Int63n(int64(s.vocab))
		}
		return ops.Dense(shape, ids), y
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return ops.Dense(shape, x), y
}

// trainMaxBytes bounds the values of a compiled training program: the
// BERT-base encoder's (batch 8, sequence 128) pass the 2 GiB default, as a
// user would raise it with train's --max-bytes.
const trainMaxBytes = 16 << 30

// newTrainer loads a workload's model for SGD (lr 0.001, momentum 0.9,
// weight decay 1e-4) with the head in a second group at lr 0.01.
func newTrainer(a workerArgs, model string) (*train.Trainer, error) {
	m, err := importer.Load(trainFile(a, model))
	if err != nil {
		return nil, err
	}
	opt, err := train.NewOptimizer(train.SGD)
	if err != nil {
		return nil, err
	}
	groups, err := train.Assign(m.Params, []train.GroupSpec{{Pattern: specs[model].head, Set: map[string]float64{"lr": 0.01}}},
		train.Hyper{LR: 0.001, Momentum: 0.9, WeightDecay: 1e-4}, nil)
	if err != nil {
		return nil, err
	}
	tr, err := train.NewTrainer(m, train.CrossEntropy, opt, groups)
	if err != nil {
		return nil, err
	}
	tr.MaxBytes = trainMaxBytes
	return tr, nil
}

func trainWorker(a workerArgs) (Result, error) {
	r := Result{Impl: a.impl, Workload: a.workload, Batch: a.batch, Warmup: a.warmup, BaseRSSKB: statusKB("VmRSS")}
	tr, err := newTrainer(a, a.workload)
	if err != nil {
		return r, err
	}
	defer tr.Close()
	x, y := batchInputs(a.workload, a.batch)
	step := func() error { _, err := tr.Step(x, y, nil, 1); return err }
	return r, timeSteps(&r, a, step)
}

// timeSteps runs step once (start-up ends there), then the warm-up and the
// timed steps, and fills r.
func timeSteps(r *Result, a workerArgs, step func() error) error {
	if err := step(); err != nil {
		return err
	}
	r.StartupMS = sinceMS(a.t0)
	times, err := timed([]func() error{step}, a.warmup, a.steps, a.budget)
	if err != nil {
		return err
	}
	summarise(r, times[0])
	return nil
}

// scalingWorker times LeNet training steps at several batch sizes,
// interleaved (one step of each in turn) so that a slow spell of the
// machine hits every batch size alike.
func scalingWorker(a workerArgs) (Result, error) {
	r := Result{Impl: a.impl, Workload: a.workload, Warmup: a.warmup, BaseRSSKB: statusKB("VmRSS")}
	batches, err := parseBatches(a.batches)
	if err != nil {
		return r, err
	}
	tr, err := newTrainer(a, "lenet")
	if err != nil {
		return r, err
	}
	defer tr.Close()
	steps := make([]func() error, len(batches))
	for i, b := range batches {
		x, y := batchInputs("lenet", b)
		steps[i] = func() error { _, err := tr.Step(x, y, nil, 1); return err }
	}
	if err := steps[0](); err != nil {
		return r, err
	}
	r.StartupMS = sinceMS(a.t0)
	times, err := timed(steps, a.warmup, a.steps, a.budget)
	if err != nil {
		return r, err
	}
	for i, b := range batches {
		r.Points = append(r.Points, Point{Batch: b, TimesMS: times[i], MedianMS: median(times[i]), MinMS: minimum(times[i])})
	}
	summarise(&r, times[len(times)-1])
	return r, nil
}

// parseBatches reads "8,16,32,64": at least two positive sizes, increasing.
func parseBatches(s string) ([]int, error) {
	var bs []int
	for _, f := range strings.Split(s, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b <= 0 {
			return nil, fmt.Errorf("batch sizes %q: %q is not a positive integer", s, f)
		}
		if len(bs) > 0 && b <= bs[len(bs)-1] {
			return nil, fmt.Errorf("batch sizes %q: not increasing", s)
		}
		bs = append(bs, b)
	}
	if len(bs) < 2 {
		return nil, fmt.Errorf("batch sizes %q: want at least two", s)
	}
	return bs, nil
}

// referenceThreads are the thread counts the references run with; the
// faster is the reference.
var referenceThreads = []int{2, 1}

// inferWorker runs a model's eval export on one batch in onnxtune's Runner,
// or in ONNX Runtime sessions with 2 and with 1 intra-op threads, their runs
// interleaved.
func inferWorker(a workerArgs) (Result, error) {
	r := Result{Impl: a.impl, Workload: a.workload, Batch: a.batch, Warmup: a.warmup, BaseRSSKB: statusKB("VmRSS")}
	model := inferModel[a.workload]
	path := filepath.Join(a.dir, model+"_eval.onnx")
	x, _ := batchInputs(model, a.batch)
	switch a.impl {
	case "onnxtune":
		m, err := importer.Load(path)
		if err != nil {
			return r, err
		}
		rn, err := ops.NewRunner(m, ops.Options{})
		if err != nil {
			return r, err
		}
		defer rn.Close()
		in := map[string]*tensor.Dense{ops.InputNames(m)[0]: x}
		return r, timeSteps(&r, a, func() error { _, err := rn.Run(in); return err })
	case "onnxruntime":
		v, err := ort.Version()
		if err != nil {
			return r, err
		}
		r.Version = "ONNX Runtime library " + v + " (Go worker)"
		data, _ := ops.Data[float32](x)
		shape := make([]int64, len(ops.Shape(x)))
		for i, d := range ops.Shape(x) {
			shape[i] = int64(d)
		}
		var runs []func() error
		for _, n := range referenceThreads {
			sess, err := ort.NewSessionFile(path, n)
			if err != nil {
				return r, err
			}
			defer sess.Close()
			in := []ort.Tensor{{Name: sess.Inputs()[0].Name, Shape: shape, Data: data}}
			runs = append(runs, func() error { _, err := sess.Run(in); return err })
		}
		if err := runs[0](); err != nil {
			return r, err
		}
		r.StartupMS = sinceMS(a.t0)
		times, err := timed(runs, a.warmup, a.steps, a.budget)
		if err != nil {
			return r, err
		}
		for i, n := range referenceThreads {
			r.Variants = append(r.Variants, Variant{Threads: n, TimesMS: times[i], MedianMS: median(times[i]), MinMS: minimum(times[i])})
		}
		pickFastest(&r)
		return r, nil
	}
	return r, fmt.Errorf("no inference engine %q", a.impl)
}

// pickFastest makes the fastest variant the result's times.
func pickFastest(r *Result) {
	if i := fastest(r.Variants); i >= 0 {
		v := r.Variants[i]
		r.Threads, r.TimesMS, r.MedianMS, r.MinMS = v.Threads, v.TimesMS, v.MedianMS, v.MinMS
	}
}

// ioWorker times importer.Load plus export.Write of one model file, writing
// to a file (not synced to disk, as onnx.save_model does not).
func ioWorker(a workerArgs) (Result, error) {
	r := Result{Impl: a.impl, Workload: a.workload, Warmup: a.warmup, BaseRSSKB: statusKB("VmRSS")}
	st, err := os.Stat(a.file)
	if err != nil {
		return r, err
	}
	r.Bytes = st.Size()
	if err := os.MkdirAll(a.tmp, 0o755); err != nil {
		return r, err
	}
	out := filepath.Join(a.tmp, "io_onnxtune.onnx")
	defer os.Remove(out)
	run := func() error {
		m, err := importer.Load(a.file)
		if err != nil {
			return err
		}
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		if err := export.Write(f, m); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return r, timeSteps(&r, a, run)
}
