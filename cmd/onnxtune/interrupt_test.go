package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// countdown is a context whose Err reports a cancellation from its n+1-th
// call on: train.Run asks once before each batch, so the run stops after n
// steps, as if Ctrl-C came then.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// interruptAfter makes the train command see Ctrl-C after n steps.
func interruptAfter(t *testing.T, n int) {
	old := interruptContext
	t.Cleanup(func() { interruptContext = old })
	interruptContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		return &countdown{Context: parent, n: n}, func() {}
	}
}

// mlpData writes 44 random examples for the MLP with Dropout
// (models/mlp_bn_training.onnx: 20 features, 3 classes).
func mlpData(t *testing.T, dir string) string {
	r := rand.New(rand.NewSource(7))
	x := make([]float32, 44*20)
	y := make([]int64, 44)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = int64(r.Intn(3))
	}
	p := filepath.Join(dir, "d.npz")
	if err := npz.Write(p, map[string]npz.Array{"x": {Shape: []int{44, 20}, Data: x}, "y": {Shape: []int{44}, Data: y}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestTrainInterrupt: Ctrl-C exits 130, leaves an existing OUT as it was
// and writes no model; it saves a checkpoint only when --checkpoint is
// given, and says so only then; --resume then writes the very file an
// uninterrupted run writes (the model has Dropout).
func TestTrainInterrupt(t *testing.T) {
	dir := t.TempDir()
	data := mlpData(t, dir)
	model := filepath.Join("..", "..", "models", "mlp_bn_training.onnx")
	args := func(out string, more ...string) []string {
		return append([]string{"train", model, "-o", out, "--data", data, "--epochs", "3", "--batch-size", "8",
			"--lr", "0.05", "--seed", "3", "--log-level", "error"}, more...)
	}
	whole := filepath.Join(dir, "whole.onnx")
	if code, _, stderr := runCLI(args(whole)...); code != 0 {
		t.Fatalf("uninterrupted run exited %d: %s", code, stderr)
	}

	out := filepath.Join(dir, "out.onnx")
	old := []byte("the previous model")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "ck")
	kept := func() {
		t.Helper()
		if b, err := os.ReadFile(out); err != nil || !bytes.Equal(b, old) {
			t.Errorf("OUT changed by an interrupted run (%v)", err)
		}
	}

	interruptAfter(t, 8)
	code, _, stderr := runCLI(args(out)...)
	if code != exitInterrupted {
		t.Fatalf("interrupted run exited %d, want %d: %s", code, exitInterrupted, stderr)
	}
	kept()
	if !strings.Contains(stderr, "interrupted after 8 steps") || strings.Contains(stderr, "checkpoint") {
		t.Errorf("stderr %q: want the interruption, no word of a checkpoint", stderr)
	}
	if _, err := os.Stat(ck); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a checkpoint folder without --checkpoint: %v", err)
	}
	// With --json, the last line says the run stopped and wrote nothing.
	interruptAfter(t, 8)
	code, stdout, stderr := runCLI(args(out, "--json")...)
	if code != exitInterrupted {
		t.Fatalf("interrupted --json run exited %d: %s", code, stderr)
	}
	kept()
	if lines := jsonLines(t, "stdout", stdout); len(lines) == 0 || lines[len(lines)-1]["stopped"] != true ||
		lines[len(lines)-1]["output"] != nil || lines[len(lines)-1]["steps"] != 8.0 {
		t.Errorf("interrupted --json: stdout %q, want a last line with stopped true, output null, steps 8", stdout)
	}

	code, _, stderr = runCLI(args(out, "--checkpoint", ck)...)
	if code != exitInterrupted {
		t.Fatalf("interrupted run exited %d, want %d: %s", code, exitInterrupted, stderr)
	}
	kept()
	if !strings.Contains(stderr, "checkpoint saved in "+ck) {
		t.Errorf("stderr %q does not say where the checkpoint is", stderr)
	}

	interruptAfter(t, 1<<30)
	if code, _, stderr := runCLI(args(out, "--checkpoint", ck, "--resume")...); code != 0 {
		t.Fatalf("resumed run exited %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(out)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("resumed run wrote %d bytes that differ from the uninterrupted run's %d", len(b), len(a))
	}

	// A checkpoint of other settings is refused (exit 1), naming the difference.
	code, _, stderr = runCLI(args(out, "--checkpoint", ck, "--resume", "--momentum", "0.5")...)
	if code != exitError || !strings.Contains(stderr, "momentum is 0.9 there, 0.5 here") {
		t.Errorf("resume with another momentum: exit %d, %q", code, stderr)
	}
	// So is one of another seed, order, schedule, its unit, warmup or
	// loss: the result would match no uninterrupted run.
	for _, c := range []struct{ flags, msg string }{
		{"--seed 4", "seed is 3 there, 4 here"},
		{"--shuffle=false", "shuffle is true there, false here"},
		{"--schedule step:1:0.5", "schedule is constant there, step:1:0.5 here"},
		{"--schedule cosine", "schedule is constant there, cosine here"},
		{"--schedule-unit epoch", "schedule_unit is step there, epoch here"},
		{"--warmup 2", "warmup is 0 there, 2 here"},
		{"--warmup-ratio 0.1", "schedule_length is any there, "},
		{"--label-smoothing 0.1", "label_smoothing is 0 there, 0.1 here"},
	} {
		code, _, stderr = runCLI(args(out, append([]string{"--checkpoint", ck, "--resume"}, strings.Fields(c.flags)...)...)...)
		if code != exitError || !strings.Contains(stderr, c.msg) {
			t.Errorf("resume with %s: exit %d, %q, want %q", c.flags, code, stderr, c.msg)
		}
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(a, b) {
		t.Errorf("a refused resume changed OUT")
	}
}

// signalOnInstall makes the train command's handler, once in place, send
// sig to this process and wait until the handler got it; the cleanup puts
// the real handler back.
func signalOnInstall(t *testing.T, sig syscall.Signal) {
	t.Helper()
	real := interruptContext
	t.Cleanup(func() { interruptContext = real })
	interruptContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		ctx, stop := real(parent)
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Error(err)
		}
		<-ctx.Done() // the handler got it
		return ctx, stop
	}
}

// TestTrainSignals: a real SIGINT or SIGTERM reaches the train command's
// handler: exit 130, no model written.
func TestTrainSignals(t *testing.T) {
	dir := t.TempDir()
	data := mlpData(t, dir)
	model := filepath.Join("..", "..", "models", "mlp_bn_training.onnx")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			signalOnInstall(t, sig)
			out := filepath.Join(dir, "out.onnx")
			code, _, stderr := runCLI("train", model, "-o", out, "--data", data, "--log-level", "error")
			if code != exitInterrupted {
				t.Fatalf("exit %d, want %d: %s", code, exitInterrupted, stderr)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("OUT written by an interrupted run (%v)", err)
			}
		})
	}
}

// TestTrainSignalWhileLoading: the handler is in place before the model
// and the data are read, so a signal that comes while they load (here
// before: the data does not even exist) ends the run with exit 130, not
// the signal's default death (143 for SIGTERM) or a loading error.
func TestTrainSignalWhileLoading(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "models", "mlp_bn_training.onnx")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			signalOnInstall(t, sig)
			out := filepath.Join(dir, "out.onnx")
			code, _, stderr := runCLI("train", model, "-o", out, "--data", filepath.Join(dir, "missing.npz"), "--log-level", "error")
			if code != exitInterrupted || !strings.Contains(stderr, "interrupted before training") {
				t.Fatalf("exit %d, %q; want %d, interrupted before training", code, stderr, exitInterrupted)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("OUT written by an interrupted run (%v)", err)
			}
		})
	}
}

// failWriter fails every write, as a full disk does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestStdoutWriteError: a command whose results cannot be written to
// standard output fails (exit 1) with one line saying so.
func TestStdoutWriteError(t *testing.T) {
	models := filepath.Join("..", "..", "models")
	dir := t.TempDir()
	data := mlpData(t, dir)
	for _, args := range [][]string{
		{"version"},
		{"--help"},
		{"inspect", filepath.Join(models, "lenet.onnx")},
		{"inspect", "--json", filepath.Join(models, "lenet.onnx")},
		{"convert", filepath.Join(models, "bn_cnn_training.onnx"), "-o", filepath.Join(dir, "c.onnx")},
		{"train", filepath.Join(models, "mlp_bn_training.onnx"), "-o", filepath.Join(dir, "t.onnx"), "--data", data, "--log-level", "error"},
		{"train", filepath.Join(models, "mlp_bn_training.onnx"), "-o", filepath.Join(dir, "t.onnx"), "--data", data, "--json", "--log-level", "error"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(args, failWriter{}, &stderr)
			if code != exitError {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitError, stderr.String())
			}
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 || !strings.Contains(stderr.String(), "no space left on device") {
				t.Errorf("stderr %q: want one line with the write error", stderr.String())
			}
		})
	}
}

var _ io.Writer = failWriter{}
