package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/internal/gemm"
	"github.com/onnxtune/onnxtune/train"
)

// Exit codes.
const (
	exitOK    = 0 // the command did its work
	exitError = 1 // the work failed: unreadable or invalid model, write error, ...
	exitUsage = 2 // the command line is wrong: unknown flag, wrong arguments, bad flag value
	// exitInterrupted: SIGINT or SIGTERM stopped the work (128+SIGINT, as a
	// shell reports a process Ctrl-C ended).
	exitInterrupted = 130
)

// app holds what every command shares: where results and logs go. The
// commands write only to stdout, stderr (progress bars and the group
// table) and the logger; main alone knows os.Stdout and os.Stderr.
type app struct {
	stdout    io.Writer
	stderr    io.Writer
	log       *logrus.Logger
	logLevel  string
	logFormat string
	maxBytes  string // --max-bytes as given
	// limit bounds one allocation sized by a file (graph.LimitBytes);
	// set from --max-bytes before any command runs.
	limit int64
}

// workError marks an error that happened while a command did its work (exit
// 1), as opposed to one about the command line (exit 2).
type workError struct{ err error }

func (e *workError) Error() string { return e.err.Error() }
func (e *workError) Unwrap() error { return e.err }

// usageError marks an error found while a command ran that is about its
// command line (exit 2), such as a pattern that matches no parameter.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// interruptedError ends a command that SIGINT or SIGTERM stopped (exit 130).
type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }

// stickyWriter remembers the first write error, so that output lost to a
// full disk or a closed pipe fails the command (exit 1).
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

// run runs the command line args and returns the exit code. Results go to
// stdout; logs and errors to stderr. It never panics.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer recoverExit(stderr, &code)
	log := logrus.New()
	log.SetOutput(stderr)
	out := &stickyWriter{w: stdout}
	a := &app{stdout: out, stderr: stderr, log: log}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	// The last word, one line: JSON under --log-format json (every line
	// of standard error is JSON then), else "onnxtune: MESSAGE", for a
	// usage error "onnxtune: MESSAGE (see 'onnxtune CMD --help')".
	fail := func(code int, msg, hint string) int {
		if a.logFormat == "json" {
			l := logrus.New()
			l.SetOutput(stderr)
			l.SetFormatter(&logrus.JSONFormatter{})
			e := l.WithField("exit", code)
			if hint != "" {
				e = e.WithField("hint", hint)
			}
			e.Error(msg)
			return code
		}
		if hint != "" {
			msg += " (" + hint + ")"
		}
		fmt.Fprintf(stderr, "onnxtune: %s\n", msg)
		return code
	}
	if ie := (*interruptedError)(nil); errors.As(err, &ie) {
		return fail(exitInterrupted, oneLine(ie.msg), "")
	}
	if err == nil && out.err != nil {
		// What the command printed did not all arrive: its result is
		// incomplete whatever else it did.
		return fail(exitError, "writing standard output: "+oneLine(out.err.Error()), "")
	}
	if err == nil {
		return exitOK
	}
	if ue := (*usageError)(nil); errors.As(err, &ue) {
		err = ue.err
	} else if we := (*workError)(nil); errors.As(err, &we) {
		return fail(exitError, oneLine(we.err.Error()), "")
	}
	if cmd == nil || errors.As(err, new(envError)) {
		cmd = root // the environment is described in onnxtune's own help
	}
	return fail(exitUsage, usageMessage(err), fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
}

// recoverExit turns a panic into a one-line message and exit code 1. Use it
// deferred: defer recoverExit(stderr, &code).
func recoverExit(stderr io.Writer, code *int) {
	if r := recover(); r != nil {
		fmt.Fprintf(stderr, "onnxtune: internal error: %s\n", oneLine(fmt.Sprint(r)))
		*code = exitError
	}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "onnxtune",
		Short: "Fine-tune ONNX models exported by PyTorch",
		Long: `onnxtune reads ONNX models exported by PyTorch (torch.onnx.export) and
works on them under their PyTorch parameter names: it recovers the
state_dict names the exporter anonymized ("onnx::Conv_193" becomes
"conv1.weight"), shows a model's inputs, outputs, ops and parameters, and
turns training-mode exports into inference models with one tensor per
parameter. It fine-tunes them as PyTorch's recipe does (train: SGD, Adam or
AdamW with parameter groups, frozen layers, schedules, train-mode BatchNorm
and Dropout), moves pretrained weights into a new model by name (remap),
gives a classifier a new head (replace-head), and runs and scores models
(run, eval); what it writes, ONNX Runtime runs. Results go to standard
output, logs and errors to standard error.

Exit status: 0 on success, 1 when the work fails (missing, truncated or
invalid model, write error, including standard output), 2 for a wrong command
line (unknown command or flag, wrong number of arguments, bad flag value, a
value PyTorch refuses, a pattern that matches nothing), 130 when Ctrl-C
(SIGINT or SIGTERM) stops train.

Commands that write (convert, remap, replace-head, train, run -o, eval
--plot) never replace a file they read nor anything but a regular file, write a model's
external data only to OUT.data, and check this before any work starts.

Environment: ONNXTUNE_GEMM=avx512|avx2|generic picks the matrix-multiply
kernel of convolutions and linear layers (and the vector loops beside it);
unset, the fastest the CPU supports. A name the CPU cannot run is a usage
error. Results differ between kernels in the last bits only.`,
		Example: `  onnxtune inspect models/lenet.onnx
  onnxtune inspect --json models/lenet.onnx | jq .parameters
  onnxtune replace-head models/mnist_lenet_0to4.onnx --layer fc3 --classes 10 -o lenet10.onnx
  onnxtune train lenet10.onnx -o tuned.onnx --data mnist:train --per-class 50 --group 'fc3.*:lr=0.1' --lr 0.01
  onnxtune convert models/bn_cnn_training.onnx -o /tmp/bn_cnn.onnx`,
		Version:           versionLine(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return a.setup() },
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of a command, or of onnxtune without one.",
		// An unknown topic is a usage error, as an unknown command is
		// (cobra's own help prints the usage and exits 0).
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return fmt.Errorf("unknown help topic %q", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&a.maxBytes, "max-bytes", strings.ReplaceAll(graph.FormatBytes(graph.DefaultMaxBytes), " ", ""),
		"largest allocation a size read from a file (model, data, config) may ask for, and largest total of a compiled model's values, e.g. 512MiB or 8GiB")
	root.AddCommand(a.inspectCmd(), a.convertCmd(), a.runCmd(), a.evalCmd(), a.trainCmd(), a.remapCmd(), a.replaceHeadCmd(), a.versionCmd())
	return root
}

// envError is a bad environment variable: a usage error whose help is
// onnxtune's own (the Environment paragraph).
type envError struct{ error }

func (e envError) Unwrap() error { return e.error }

// setup reads the persistent flags: --max-bytes, then the logging flags;
// and refuses a bad ONNXTUNE_GEMM (internal/gemm).
func (a *app) setup() error {
	if _, err := gemm.Kernel(); err != nil {
		return envError{err}
	}
	n, err := graph.ParseBytes(a.maxBytes)
	if err != nil {
		return fmt.Errorf("invalid --max-bytes: %w", err)
	}
	a.limit = n
	return a.setupLog()
}

// setupLog configures the logger from --log-level and --log-format.
func (a *app) setupLog() error {
	levels := map[string]logrus.Level{
		"debug": logrus.DebugLevel,
		"info":  logrus.InfoLevel,
		"warn":  logrus.WarnLevel,
		"error": logrus.ErrorLevel,
	}
	lvl, ok := levels[a.logLevel]
	if !ok {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", a.logLevel)
	}
	a.log.SetLevel(lvl)
	switch a.logFormat {
	case "text":
		a.log.SetFormatter(&logrus.TextFormatter{})
	case "json":
		a.log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("invalid --log-format %q: want text or json", a.logFormat)
	}
	return nil
}

// work adapts a command's function to cobra, marking its errors as errors of
// the work (exit 1) rather than of the command line.
func work(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f(cmd, args); err != nil {
			return &workError{err}
		}
		return nil
	}
}

// load reads a model with the run's logger and size limit (--max-bytes).
func (a *app) load(path string) (*graph.Model, error) {
	return importer.LoadWith(path, importer.Options{Logger: a.log, MaxBytes: a.limit})
}

// writeJSON writes v as indented JSON: the output of every --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns the column writer of every table a command prints.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// positional checks that a command gets exactly the positional arguments named.
func positional(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, got []string) error {
		switch {
		case len(got) < len(names):
			return fmt.Errorf("missing %s argument", strings.Join(names[len(got):], " and "))
		case len(got) > len(names):
			return fmt.Errorf("too many arguments: want %s, got %q", strings.Join(names, " "), got)
		}
		return nil
	}
}

// usageMessage renders a command-line error as one line, turning cobra's
// multi-line "Did you mean this?" into a parenthesis.
func usageMessage(err error) string {
	msg := err.Error()
	if se := (*train.SettingError)(nil); errors.As(err, &se) && se.Param != "" && msg == se.Error() {
		msg = settingMessage(se)
	}
	if head, sugg, ok := strings.Cut(msg, "\n\nDid you mean this?\n"); ok {
		msg = fmt.Sprintf("%s (did you mean %s?)", head, strings.Join(strings.Fields(sugg), " or "))
	}
	return oneLine(msg)
}

// settingMessage says a refused setting with the flag that gives it:
// "--lr: Invalid learning rate: -1.0", or for a group's value
// "--group "fc.*": lr: Invalid learning rate: -1.0".
func settingMessage(se *train.SettingError) string {
	if se.Group != "" {
		return fmt.Sprintf("--group %q: %s: %s", se.Group, se.Param, se.Reason)
	}
	flag := strings.ReplaceAll(se.Param, "_", "-")
	if p, ok := train.LookupHyper(se.Param); ok {
		flag = p.Flag()
	}
	return fmt.Sprintf("--%s: %s", flag, se.Reason)
}

// oneLine collapses a message that spans several lines into one.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
