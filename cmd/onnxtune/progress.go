package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar returns a bar of total steps (-1: unknown) drawn on the app's
// standard error, or nil when that is not a terminal or logs are JSON. The
// bar clears itself when it finishes.
func (a *app) progressBar(total int, opts ...progressbar.Option) *progressbar.ProgressBar {
	if !isTerminal(a.stderr) || a.logFormat == "json" {
		return nil
	}
	return progressbar.NewOptions(total, append([]progressbar.Option{progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionClearOnFinish()},
		opts...)...)
}

// examplesBar is the bar of run and eval: n examples in batches of batch,
// shown when there is more than one batch.
func (a *app) examplesBar(n, batch int) *progressbar.ProgressBar {
	if n <= batch {
		return nil
	}
	return a.progressBar(n, progressbar.OptionSetDescription("examples"))
}

// examplesProgressText is the --help of run's and eval's progress.
const examplesProgressText = `Over more than one batch, a progress bar counts the examples on a
terminal; when standard error is not one (a file, a pipe, nohup) a line
"progress: 640/10000 examples" is logged instead, at most one every ten
seconds and the last; under --log-format json the lines have msg
"progress" and the fields examples and total, at most one a second.`

// progressEvery is how often JSON progress lines are written at most, and
// textProgressEvery text ones, which a person reads in a log file (the
// last of a run is always written).
const (
	progressEvery     = time.Second
	textProgressEvery = 10 * time.Second
)

// every is how often progress lines of the app's log format are written
// at most.
func (a *app) every() time.Duration {
	if a.logFormat == "json" {
		return progressEvery
	}
	return textProgressEvery
}

// progress reports how far a command is: a bar on a terminal with text
// logs, else log lines, at most one every a.every() and always the last: under
// --log-format json lines with msg "progress" (whether or not standard
// error is a terminal), with text logs lines "progress: 640/10000
// examples" (standard error not a terminal: a file, a pipe, nohup). A nil
// *progress reports nothing.
type progress struct {
	a     *app
	bar   *progressbar.ProgressBar
	what  string // the unit counted: "examples", "steps"
	total int
	last  time.Time
}

// examplesProgress is the progress of run and eval: n examples in
// batches of batch, reported when there is more than one batch.
func (a *app) examplesProgress(n, batch int) *progress {
	if n <= batch {
		return nil
	}
	if bar := a.examplesBar(n, batch); bar != nil {
		return &progress{a: a, bar: bar}
	}
	return &progress{a: a, what: "examples", total: n}
}

// set reports done of the total.
func (p *progress) set(done int) {
	if p == nil {
		return
	}
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if now := time.Now(); done >= p.total || now.Sub(p.last) >= p.a.every() {
		p.last = now
		if p.a.logFormat == "json" {
			p.a.log.WithFields(map[string]any{p.what: done, "total": p.total}).Info("progress")
		} else {
			p.a.log.Infof("progress: %d/%d %s", done, p.total, p.what)
		}
	}
}

// finish ends the bar.
func (p *progress) finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
	}
}
