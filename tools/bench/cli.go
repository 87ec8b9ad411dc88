package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The cli workload times the whole command a user runs, `onnxtune train
// MODEL --data NPZ --metrics FILE`, against the plain PyTorch script a user
// would write instead (torch_bench.py loop, which writes the same kind of
// step lines). Both write one JSON line per optimizer step as it happens;
// the worker watches the metrics folder with inotify and stamps each step
// line when it appears. From the stamps: start-up (process start to the
// first step's line), the steady-state step times (intervals between lines
// after the warm-up) and the tail (last step to the process's exit: writing
// the model, exit).

// cliWorker runs a.impl's command (PyTorch once with 2 and once with 1
// thread, keeping the faster) and reports the split. Its peak RSS is the
// child process's.
func cliWorker(a workerArgs) (Result, error) {
	r := Result{Impl: a.impl, Workload: a.workload, Batch: a.batch, Warmup: a.warmup}
	if err := os.MkdirAll(a.tmp, 0o755); err != nil {
		return r, err
	}
	threads := []int{0} // onnxtune: GOMAXPROCS, the default
	switch a.impl {
	case "pytorch":
		threads = referenceThreads
	case "onnxtune":
	default:
		return r, fmt.Errorf("no command-line trainer %q", a.impl)
	}
	var runs []Result
	for _, n := range threads {
		run, err := cliRun(a, n)
		if err != nil {
			if n > 0 {
				return r, fmt.Errorf("%d thread(s): %w", n, err)
			}
			return r, err
		}
		runs = append(runs, run)
		if n > 0 {
			r.Variants = append(r.Variants, Variant{Threads: n, TimesMS: run.TimesMS, MedianMS: run.MedianMS, MinMS: run.MinMS})
		}
	}
	best := 0
	if len(r.Variants) > 0 {
		best = fastest(r.Variants)
		r.Threads = r.Variants[best].Threads
	}
	b := runs[best]
	r.StartupMS, r.TailMS, r.PeakRSSKB = b.StartupMS, b.TailMS, b.PeakRSSKB
	summarise(&r, b.TimesMS)
	return r, nil
}

// cliRun runs the command once and splits its time by its step lines.
func cliRun(a workerArgs, threads int) (Result, error) {
	var r Result
	dir, err := os.MkdirTemp(a.tmp, "metrics-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	w, err := watchSteps(dir)
	if err != nil {
		return r, err
	}
	argv := cliCommand(a, threads, filepath.Join(dir, "steps.jsonl"))
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	err = cmd.Run()
	end := time.Now()
	stamps := w.stop()
	if err != nil {
		return r, fmt.Errorf("%s %s: %w%s", filepath.Base(argv[0]), argv[1], err, tail(stderr.String(), 6))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSKB = ru.Maxrss // kB on Linux
	}
	r.StartupMS, r.TailMS, r.TimesMS, err = splitSteps(t0, stamps, end, a.warmup)
	if err != nil {
		return r, err
	}
	summarise(&r, r.TimesMS)
	return r, nil
}

// cliCommand is the command line of one run: onnxtune train with the
// harness's recipe, or torch_bench.py loop with threads threads, each
// writing its step lines to metrics.
func cliCommand(a workerArgs, threads int, metrics string) []string {
	n, b := strconv.Itoa(a.steps), strconv.Itoa(a.batch)
	if a.impl == "pytorch" {
		return []string{a.python, a.script, "loop", "--model", "resnet", "--dir", a.dir, "--models", a.models,
			"--data", a.data, "--batch", b, "--steps", n, "--threads", strconv.Itoa(threads),
			"--out", filepath.Join(a.tmp, "cli_pytorch.pt"), "--metrics", metrics}
	}
	return []string{a.bin, "train", a.file, "-o", filepath.Join(a.tmp, "cli_onnxtune.onnx"), "--data", a.data,
		"--batch-size", b, "--steps", n, "--shuffle=false", "--lr", "0.001", "--momentum", "0.9",
		"--weight-decay", "1e-4", "--group", specs["resnet"].head + ":lr=0.01", "--log-level", "error",
		"--metrics", metrics}
}

// splitSteps turns the times step lines appeared into start-up (t0 to the
// first), the steady-state step times (the intervals after the first
// warmup+1 lines: the first step and the warm-up) and the tail (the last
// line to end), all in ms.
func splitSteps(t0 time.Time, stamps []time.Time, end time.Time, warmup int) (startup, tailMS float64, steps []float64, err error) {
	if len(stamps) < warmup+2 {
		return 0, 0, nil, fmt.Errorf("%d step lines seen, want at least %d (the first, %d warm-up and one timed)", len(stamps), warmup+2, warmup)
	}
	for i := warmup + 1; i < len(stamps); i++ {
		steps = append(steps, ms(stamps[i].Sub(stamps[i-1])))
	}
	return ms(stamps[0].Sub(t0)), ms(end.Sub(stamps[len(stamps)-1])), steps, nil
}

// stepWatch stamps the {"type": "step"} lines written to the files of one
// folder as they appear (inotify IN_MODIFY on the folder).
type stepWatch struct {
	fd      int
	dir     string
	offsets map[string]int64
	partial map[string][]byte
	stamps  []time.Time
	done    chan struct{}
	wg      sync.WaitGroup
}

func watchSteps(dir string) (*stepWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify %s: %w", dir, err)
	}
	w := &stepWatch{fd: fd, dir: dir, offsets: map[string]int64{}, partial: map[string][]byte{}, done: make(chan struct{})}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

func (w *stepWatch) loop() {
	defer w.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		select {
		case <-w.done:
			w.drain(buf) // events not yet read: stamped now
			return
		default:
		}
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 20); err != nil && !errors.Is(err, unix.EINTR) || n <= 0 {
			continue
		}
		w.drain(buf)
	}
}

// drain reads the pending events and the new lines of the files they name.
func (w *stepWatch) drain(buf []byte) {
	for {
		n, err := unix.Read(w.fd, buf)
		if err != nil || n <= 0 {
			return
		}
		now := time.Now()
		for _, name := range eventNames(buf[:n]) {
			w.read(name, now)
		}
	}
}

// eventNames are the file names of a buffer of inotify events.
func eventNames(b []byte) []string {
	var names []string
	for len(b) >= unix.SizeofInotifyEvent {
		l := int(binary.NativeEndian.Uint32(b[12:16]))
		if unix.SizeofInotifyEvent+l > len(b) {
			break
		}
		if name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:unix.SizeofInotifyEvent+l], "\x00")); name != "" {
			names = append(names, name)
		}
		b = b[unix.SizeofInotifyEvent+l:]
	}
	return names
}

// read takes the new whole lines of one file and stamps its step lines.
func (w *stepWatch) read(name string, now time.Time) {
	f, err := os.Open(filepath.Join(w.dir, name))
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(w.offsets[name], 0); err != nil {
		return
	}
	var chunk bytes.Buffer
	n, _ := chunk.ReadFrom(f)
	w.offsets[name] += n
	data := append(w.partial[name], chunk.Bytes()...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var line struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data[:i], &line) == nil && line.Type == "step" {
			w.stamps = append(w.stamps, now)
		}
		data = data[i+1:]
	}
	w.partial[name] = append([]byte(nil), data...)
}

// stop ends the watch and returns the stamps.
func (w *stepWatch) stop() []time.Time {
	close(w.done)
	w.wg.Wait()
	unix.Close(w.fd)
	return w.stamps
}
