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

// progressEvery is how often JSON progress lines are written at most (the
// last of a run is always written).
const progressEvery = time.Second

// progress reports how far a command is: a bar on a terminal with text
// logs, or under --log-format json log lines with msg "progress" (whether
// or not standard error is a terminal), at most one a second and always
// the last. A nil *progress reports nothing.
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
	if a.logFormat == "json" {
		return &progress{a: a, what: "examples", total: n}
	}
	if bar := a.examplesBar(n, batch); bar != nil {
		return &progress{a: a, bar: bar}
	}
	return nil
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
	if now := time.Now(); done >= p.total || now.Sub(p.last) >= progressEvery {
		p.last = now
		p.a.log.WithFields(map[string]any{p.what: done, "total": p.total}).Info("progress")
	}
}

// finish ends the bar.
func (p *progress) finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
	}
}
