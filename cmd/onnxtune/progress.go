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
