package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Target is a pass mark on a ratio (onnxtune / reference, lower is better).
type Target struct {
	Text  string
	Pass  float64 // a ratio at most Pass passes
	Worst float64 // a ratio at most Worst is "marginal" (the "at worst"); Worst == Pass: no margin
}

// Targets of issue 15, against today's PyTorch and ONNX Runtime.
var (
	trainTarget  = &Target{Text: "<= 1.0", Pass: 1.0, Worst: 1.0}
	inferTarget  = &Target{Text: "<= 1.2", Pass: 1.2, Worst: 1.2}
	memoryTarget = &Target{Text: "<= 1.0", Pass: 1.0, Worst: 1.0}
)

// Results of a row.
const (
	resPass     = "pass"
	resMarginal = "marginal"
	resFail     = "FAIL"
	resInfo     = "info"
	resError    = "ERROR"
)

// judge returns pass, marginal or FAIL for a ratio, info without a target,
// and ERROR for a missing ratio.
func (t *Target) judge(r float64) string {
	switch {
	case math.IsNaN(r):
		return resError
	case t == nil:
		return resInfo
	case r <= t.Pass:
		return resPass
	case r <= t.Worst:
		return resMarginal
	}
	return resFail
}

// Row is one line of the result table.
type Row struct {
	Workload  string   `json:"workload"`
	Reference string   `json:"reference"`
	Unit      string   `json:"unit"` // ms, MB, or R2 for scaling
	Ours      number   `json:"onnxtune"`
	Theirs    number   `json:"reference_value"`
	Ratio     number   `json:"ratio"`
	Rounds    []number `json:"round_ratios"`
	// Best is the ratio of the fastest steps (fastest over all rounds of
	// each side): less touched by other tenants of the machine than Ratio,
	// but not what the target is judged on.
	Best   number `json:"best_ratio"`
	Target string `json:"target"`
	Result string `json:"result"`
	Note   string `json:"note,omitempty"`

	oursText, theirsText string
}

// StartupRow is the start-up time (ms) of one workload's processes.
type StartupRow struct {
	Workload  string `json:"workload"`
	Ours      number `json:"onnxtune_ms"`
	Reference string `json:"reference"`
	Theirs    number `json:"reference_ms"`
}

// ScalingPoint is one batch size of the scaling table.
type ScalingPoint struct {
	Batch  int    `json:"batch"`
	Ours   number `json:"onnxtune_ms"`
	Theirs number `json:"pytorch_ms"`
	Ratio  number `json:"ratio"`
}

// ScalingTable is the step time against batch size of both sides.
type ScalingTable struct {
	Points  []ScalingPoint `json:"points"`
	Ours    Scaling        `json:"onnxtune"`
	PyTorch Scaling        `json:"pytorch"`
}

// Machine is where the harness ran.
type Machine struct {
	CPU        string   `json:"cpu"`
	Extensions []string `json:"vector_extensions"` // from golang.org/x/sys/cpu
	NumCPU     int      `json:"cpus"`
	GOMAXPROCS int      `json:"gomaxprocs"`
	GEMM       string   `json:"gemm"` // $ONNXTUNE_GEMM as the workers got it
	Platform   string   `json:"platform"`
	When       string   `json:"when"`
}

func (m Machine) String() string {
	ext := "none"
	if len(m.Extensions) > 0 {
		ext = strings.Join(m.Extensions, " ")
	}
	return fmt.Sprintf("%s, %d CPUs, GOMAXPROCS %d, %s, %s; vector extensions: %s; GEMM: %s",
		m.CPU, m.NumCPU, m.GOMAXPROCS, m.When, m.Platform, ext, m.GEMM)
}

// ThreadRow is a reference's step time with each thread count it ran.
type ThreadRow struct {
	Workload  string         `json:"workload"`
	Reference string         `json:"reference"`
	MS        map[int]number `json:"ms_by_threads"` // median over rounds of each worker's median
	Used      int            `json:"used"`          // the faster, the one in the ratio (its rounds' majority)
}

// Report is everything the harness prints.
type Report struct {
	Machine  Machine       `json:"machine"`
	Versions []string      `json:"versions"`
	Rounds   int           `json:"rounds"`
	Quick    bool          `json:"quick,omitempty"` // --quick: a smoke check, not a measurement
	Method   string        `json:"ratio_method"`
	Rows     []Row         `json:"rows"`
	Startup  []StartupRow  `json:"startup"`
	Threads  []ThreadRow   `json:"reference_threads,omitempty"`
	Scaling  *ScalingTable `json:"scaling,omitempty"`
	StealPct number        `json:"cpu_steal_percent"`
	OtherPct number        `json:"other_cpu_percent"` // mean over workers of Result.OtherPct
	WallS    number        `json:"wall_seconds"`
	// Probes are the core probe's runs before and after the workloads.
	Probes []CoreProbe `json:"core_probes,omitempty"`
	Errors []string    `json:"errors,omitempty"`
	// Reruns lists the rounds run again (--rerun-above), with why.
	Reruns  []string       `json:"rounds_run_again,omitempty"`
	Workers []WorkerRecord `json:"workers"`
}

// WorkerRecord is one worker run as the JSON report lists it.
type WorkerRecord struct {
	Round int `json:"round"`
	Result
}

// ratioMethod says how Row.Ratio is computed; the doc repeats it.
const ratioMethod = "the references (PyTorch, ONNX Runtime) run with 1 and 2 threads, steps interleaved, and the faster is the reference; " +
	"each round runs the onnxtune worker and then the reference worker back to back; " +
	"ratio = median over rounds of (onnxtune median / reference median), with two rounds their mean; " +
	"the value columns are the medians over rounds of each worker's steady-state median"

// runs holds the results of one workload: impl -> one entry per round, nil
// where the worker failed.
type runs map[string][]*Result

// values returns f of each round's result, NaN where it failed.
func (r runs) values(impl string, f func(*Result) float64) []float64 {
	var out []float64
	for _, res := range r[impl] {
		if res == nil {
			out = append(out, math.NaN())
			continue
		}
		out = append(out, f(res))
	}
	return out
}

// finiteMin is the smallest finite value of xs (NaN if none).
func finiteMin(xs []float64) float64 {
	m := math.NaN()
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) && (math.IsNaN(m) || x < m) {
			m = x
		}
	}
	return m
}

// finiteMedian is the median of the finite values of xs (NaN if none).
func finiteMedian(xs []float64) float64 {
	var ok []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ok = append(ok, x)
		}
	}
	return median(ok)
}

// metric is what a row compares: a value of each worker's result and, for
// times, the fastest step.
type metric struct {
	unit        string
	value, best func(*Result) float64
}

var (
	stepTime = metric{unit: "ms", value: func(r *Result) float64 { return r.MedianMS },
		best: func(r *Result) float64 { return r.MinMS }}
	peakRSS = metric{unit: "MB", value: peakMB}
)

func peakMB(r *Result) float64  { return float64(r.PeakRSSKB) / 1024 }
func startMS(r *Result) float64 { return r.StartupMS }

// compare makes the row of ours against a reference impl for one measure.
func compare(name string, r runs, ours, ref, refName string, m metric, t *Target) Row {
	o, th := r.values(ours, m.value), r.values(ref, m.value)
	rs := roundRatios(o, th)
	row := Row{Workload: name, Reference: refName, Unit: m.unit, Ours: number(finiteMedian(o)),
		Theirs: number(finiteMedian(th)), Ratio: number(median(rs)), Best: number(math.NaN())}
	for _, x := range rs {
		row.Rounds = append(row.Rounds, number(x))
	}
	if m.best != nil {
		row.Best = number(finiteMin(r.values(ours, m.best)) / finiteMin(r.values(ref, m.best)))
	}
	unit := m.unit
	if t != nil {
		row.Target = t.Text
	}
	row.Result = t.judge(float64(row.Ratio))
	row.oursText, row.theirsText = formatValue(float64(row.Ours), unit), formatValue(float64(row.Theirs), unit)
	return row
}

// formatValue prints a value with its unit and three significant digits or so.
func formatValue(v float64, unit string) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch {
	case unit == "MB" || v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%.2f %s", v, unit)
}

func formatRatio(r number) string {
	if math.IsNaN(float64(r)) {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(r))
}

func formatRounds(rs []number) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, formatRatio(r))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// scalingTable combines the scaling workers of both sides: per batch size
// the median over rounds of each worker's median step time.
func scalingTable(r runs) *ScalingTable {
	pick := func(impl string) ([]int, []float64) {
		var batches []int
		var msAt []float64
		for _, res := range r[impl] {
			if res != nil {
				for _, p := range res.Points {
					batches = append(batches, p.Batch)
				}
				break
			}
		}
		for i, b := range batches {
			var xs []float64
			for _, res := range r[impl] {
				if res != nil && i < len(res.Points) && res.Points[i].Batch == b {
					xs = append(xs, res.Points[i].MedianMS)
				}
			}
			msAt = append(msAt, median(xs))
		}
		return batches, msAt
	}
	ob, om := pick("onnxtune")
	pb, pm := pick("pytorch")
	if len(ob) == 0 {
		return nil
	}
	t := &ScalingTable{Ours: scaling(ob, om), PyTorch: scaling(pb, pm)}
	for i, b := range ob {
		p := ScalingPoint{Batch: b, Ours: number(om[i]), Theirs: number(math.NaN()), Ratio: number(math.NaN())}
		if i < len(pb) && pb[i] == b {
			p.Theirs, p.Ratio = number(pm[i]), number(om[i]/pm[i])
		}
		t.Points = append(t.Points, p)
	}
	return t
}

// scalingRow is the linearity verdict on onnxtune's scaling (PyTorch's for
// context in the reference column).
func scalingRow(t *ScalingTable) Row {
	first, last := t.Ours.Batches[0], t.Ours.Batches[len(t.Ours.Batches)-1]
	row := Row{Workload: fmt.Sprintf("scaling: LeNet step, b%d..b%d", first, last), Reference: "PyTorch",
		Unit: "R2", Ours: t.Ours.Fit.R2, Theirs: t.PyTorch.Fit.R2, Ratio: number(math.NaN()), Best: number(math.NaN()),
		Target: fmt.Sprintf("R2 >= %.2f, t%d/(%d*t%d) <= %.1f", MinR2, last, last/first, first, MaxGrowth),
		Note:   "linear fit t = a + b*batch; growth = time per example at the largest batch / at the smallest"}
	text := func(s Scaling) string {
		if math.IsNaN(float64(s.Fit.R2)) {
			return "-"
		}
		return fmt.Sprintf("R2 %.3f, growth %.2f", float64(s.Fit.R2), float64(s.PerSampleGrowth))
	}
	row.oursText, row.theirsText = text(t.Ours), text(t.PyTorch)
	row.Result = resFail
	if t.Ours.Linear {
		row.Result = resPass
	}
	return row
}

// resultText is a row's result, with the failed worker's message when it
// has no ratio.
func resultText(r Row) string {
	if r.Result == resError && r.Note != "" {
		return resError + ": " + r.Note
	}
	return r.Result
}

// threadTable lists the references' time with each thread count, for every
// workload whose reference worker measured several.
func threadTable(all map[string]runs) []ThreadRow {
	var rows []ThreadRow
	for _, w := range workloadNames {
		r, ok := all[w]
		if !ok {
			continue
		}
		for _, impl := range []string{"pytorch", avx2Torch, steadyTorch, "onnxruntime"} {
			byThreads := map[int][]float64{}
			used := map[int]int{}
			for _, res := range r[impl] {
				if res == nil {
					continue
				}
				for _, v := range res.Variants {
					byThreads[v.Threads] = append(byThreads[v.Threads], v.MedianMS)
				}
				used[res.Threads]++
			}
			if len(byThreads) == 0 {
				continue
			}
			tr := ThreadRow{Workload: w, Reference: refNames[impl], MS: map[int]number{}}
			for n, xs := range byThreads {
				tr.MS[n] = number(median(xs))
			}
			for n, c := range used {
				if c > used[tr.Used] || (c == used[tr.Used] && n < tr.Used) {
					tr.Used = n
				}
			}
			rows = append(rows, tr)
		}
	}
	return rows
}

var refNames = map[string]string{"pytorch": "PyTorch", avx2Torch: "PyTorch, AVX2 only", steadyTorch: "PyTorch, malloc kept", "onnxruntime": "ONNX Runtime"}

// threadCells are a thread row's times with 1 and 2 threads.
func threadCells(t ThreadRow) (string, string) {
	cell := func(n int) string {
		v, ok := t.MS[n]
		if !ok {
			return "-"
		}
		s := formatValue(float64(v), "ms")
		if n == t.Used {
			s += " *"
		}
		return s
	}
	return cell(1), cell(2)
}

// writeText prints the report as aligned plain-text tables.
func writeText(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "onnxtune benchmark: %s\n", rep.Machine.String())
	fmt.Fprintf(w, "versions: %s\n", strings.Join(rep.Versions, "; "))
	fmt.Fprintf(w, "%d round(s); ratio = onnxtune / reference (lower is better), median of per-round ratios; "+
		"each reference is the faster of 1 and 2 threads\n%s\n", rep.Rounds, quickNote(rep))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tonnxtune\treference\tratio\trounds\tbest\ttarget\tresult")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", r.Workload, r.oursText, r.Reference, r.theirsText,
			formatRatio(r.Ratio), formatRounds(r.Rounds), formatRatio(r.Best), orDash(r.Target), resultText(r))
	}
	tw.Flush()
	if len(rep.Threads) > 0 {
		fmt.Fprintln(w, "\nreferences by thread count (steps interleaved in one process; * the faster, used above):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\treference\t1 thread\t2 threads")
		for _, t := range rep.Threads {
			one, two := threadCells(t)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Workload, t.Reference, one, two)
		}
		tw.Flush()
	}
	if len(rep.Startup) > 0 {
		fmt.Fprintln(w, "\nstart-up (process start to first step done, including load and compile; not in the ratios):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "workload\tonnxtune\treference")
		for _, s := range rep.Startup {
			fmt.Fprintf(tw, "%s\t%s\t%s %s\n", s.Workload, formatValue(float64(s.Ours), "ms"), s.Reference, formatValue(float64(s.Theirs), "ms"))
		}
		tw.Flush()
	}
	if t := rep.Scaling; t != nil {
		fmt.Fprintln(w, "\nscaling (LeNet training step against batch size, batches interleaved in one process):")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "batch\tonnxtune\tper example\tPyTorch\tper example\tratio")
		for _, p := range t.Points {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.Batch, formatValue(float64(p.Ours), "ms"),
				formatValue(float64(p.Ours)/float64(p.Batch), "ms"), formatValue(float64(p.Theirs), "ms"),
				formatValue(float64(p.Theirs)/float64(p.Batch), "ms"), formatRatio(p.Ratio))
		}
		tw.Flush()
		fmt.Fprintf(w, "onnxtune: %s\nPyTorch:  %s\n", fitText(t.Ours), fitText(t.PyTorch))
	}
	fmt.Fprintf(w, "\nCPU time other processes took while workers ran: %.0f%% of the machine (steal %.1f%%); wall time %.0f s\n",
		float64(rep.OtherPct), float64(rep.StealPct), float64(rep.WallS))
	for _, r := range rep.Reruns {
		fmt.Fprintf(w, "round run again: %s\n", r)
	}
	for _, p := range rep.Probes {
		fmt.Fprintf(w, "core probe, %s\n", p)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// quickNote is the line that marks a --quick report ("" otherwise).
func quickNote(rep *Report) string {
	if !rep.Quick {
		return ""
	}
	return "QUICK RUN (--quick): a smoke check with a few steps, not a measurement; results below mean nothing.\n"
}

// writeMarkdown prints the report as the tables of docs/performance.md.
func writeMarkdown(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "Machine: %s.  \nVersions: %s.  \n%d round(s); ratio = onnxtune / reference (lower is better), "+
		"median of per-round ratios; each reference is the faster of 1 and 2 threads.\n%s\n", rep.Machine.String(), strings.Join(rep.Versions, "; "), rep.Rounds, quickNote(rep))
	fmt.Fprintln(w, "| workload | onnxtune | reference | ratio | rounds | best | target | result |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---:|---|---|")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s | %s | %s | %s |\n", r.Workload, r.oursText, r.Reference, r.theirsText,
			formatRatio(r.Ratio), formatRounds(r.Rounds), formatRatio(r.Best), orDash(r.Target), strings.ReplaceAll(resultText(r), "|", "\\|"))
	}
	if len(rep.Threads) > 0 {
		fmt.Fprintln(w, "\nReferences by thread count (steps interleaved in one process; * the faster, used above):")
		fmt.Fprintln(w, "\n| workload | reference | 1 thread | 2 threads |")
		fmt.Fprintln(w, "|---|---|---:|---:|")
		for _, t := range rep.Threads {
			one, two := threadCells(t)
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Workload, t.Reference, one, two)
		}
	}
	if len(rep.Startup) > 0 {
		fmt.Fprintln(w, "\nStart-up (process start to first step done, including load and compile; not in the ratios):")
		fmt.Fprintln(w, "\n| workload | onnxtune | reference |")
		fmt.Fprintln(w, "|---|---:|---:|")
		for _, s := range rep.Startup {
			fmt.Fprintf(w, "| %s | %s | %s %s |\n", s.Workload, formatValue(float64(s.Ours), "ms"), s.Reference, formatValue(float64(s.Theirs), "ms"))
		}
	}
	if t := rep.Scaling; t != nil {
		fmt.Fprintln(w, "\nScaling (LeNet training step against batch size, batches interleaved in one process):")
		fmt.Fprintln(w, "\n| batch | onnxtune | per example | PyTorch | per example | ratio |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
		for _, p := range t.Points {
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", p.Batch, formatValue(float64(p.Ours), "ms"),
				formatValue(float64(p.Ours)/float64(p.Batch), "ms"), formatValue(float64(p.Theirs), "ms"),
				formatValue(float64(p.Theirs)/float64(p.Batch), "ms"), formatRatio(p.Ratio))
		}
		fmt.Fprintf(w, "\nonnxtune: %s.  \nPyTorch: %s.\n", fitText(t.Ours), fitText(t.PyTorch))
	}
	fmt.Fprintf(w, "\nCPU time other processes took while workers ran: %.0f%% of the machine (steal %.1f%%); wall time %.0f s.\n",
		float64(rep.OtherPct), float64(rep.StealPct), float64(rep.WallS))
	for _, r := range rep.Reruns {
		fmt.Fprintf(w, "Round run again: %s.  \n", r)
	}
	for _, p := range rep.Probes {
		fmt.Fprintf(w, "Core probe, %s.  \n", p)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "\nError: %s\n", e)
	}
}

func fitText(s Scaling) string {
	if math.IsNaN(float64(s.Fit.R2)) {
		return "no fit"
	}
	verdict := "not linear"
	if s.Linear {
		verdict = "linear"
	}
	return fmt.Sprintf("t = %.2f + %.3f*batch ms, R2 %.4f, growth %.2f: %s",
		float64(s.Fit.A), float64(s.Fit.B), float64(s.Fit.R2), float64(s.PerSampleGrowth), verdict)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
