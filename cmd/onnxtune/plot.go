package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/onnxtune/onnxtune/internal/fsx"
	"github.com/onnxtune/onnxtune/train"
)

// The pictures of --plot DIR (gonum.org/v1/plot), PNG files of 6 x 4
// inches at 96 dots per inch (576 x 384 pixels; the confusion matrix is
// square, 6 x 6 inches):
//
//   - loss.png: the training loss of every step, with each epoch's mean
//     training loss and validation loss at the epoch's last step;
//   - lr.png: each parameter group's learning rate at every step;
//   - val.png: the validation's accuracy, top-5 accuracy and macro F1 per
//     epoch (train --val);
//   - confusion.png: the confusion matrix of the last validation (train
//     --val; under --save-best the best epoch's, the model written, once
//     an epoch was best) or of eval: true classes down, predicted classes across, each
//     cell shaded by its count (and labelled with it up to 30 classes).
//
// Each file is written atomically.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// plotFiles are the files --plot DIR may write, for the output checks.
var (
	trainPlots = []string{"loss.png", "lr.png", "val.png", "confusion.png"}
	evalPlots  = []string{"confusion.png"}
)

// savePlot writes p as a PNG of w x h to dir/name, atomically; a legend
// is drawn outside the plot area, on its right, so that it covers no data.
func savePlot(p *plot.Plot, w, h vg.Length, dir, name string) error {
	img := vgimg.New(w, h)
	dc := draw.New(img)
	legend := p.Legend
	p.Legend = plot.NewLegend() // none inside
	defer func() { p.Legend = legend }()
	if r := legend.Rectangle(dc); r.Size().X > 0 {
		pad := vg.Points(8)
		width := r.Size().X + 2*pad
		p.Draw(draw.Crop(dc, 0, -width, 0, 0))
		legend.Left, legend.Top = true, true
		title := vg.Length(0)
		if p.Title.Text != "" {
			title = p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
		}
		legend.Draw(draw.Crop(dc, w-width+pad, -pad, 0, -title-pad))
	} else {
		p.Draw(dc)
	}
	path := filepath.Join(dir, name)
	png := vgimg.PngCanvas{Canvas: img}
	if err := fsx.WriteFile(path, func(out io.Writer) error { _, err := png.WriteTo(out); return err }); err != nil {
		return fmt.Errorf("--plot: %s: %w", path, unwrapPath(err))
	}
	return nil
}

// confusionGrid is a confusion matrix as a heat map's grid: column c is
// the predicted class; true class i is drawn at y = k-1-i, so that class
// 0 is at the top, as the matrix is printed.
type confusionGrid [][]int

func (g confusionGrid) Dims() (c, r int) { return len(g), len(g) }
func (g confusionGrid) Z(c, r int) float64 {
	return float64(g[len(g)-1-r][c])
}
func (g confusionGrid) X(c int) float64 { return float64(c) }
func (g confusionGrid) Y(r int) float64 { return float64(r) }

// classTicks labels the classes on an axis (every class up to 30, else
// about 15 of them); down counts them from the top.
type classTicks struct {
	n     int
	names []string
	down  bool
}

func (t classTicks) Ticks(lo, hi float64) []plot.Tick {
	step := max(1, (t.n+14)/15)
	if t.n <= 30 {
		step = 1
	}
	var ticks []plot.Tick
	for i := 0; i < t.n; i++ {
		label := ""
		if i%step == 0 {
			label = strconv.Itoa(i)
			if i < len(t.names) {
				label = t.names[i]
			}
		}
		v := float64(i)
		if t.down {
			v = float64(t.n - 1 - i)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
	}
	return ticks
}

// plotConfusion writes dir/confusion.png; names, when not nil, label
// the classes.
func plotConfusion(dir, title string, cm [][]int, names []string) error {
	k := len(cm)
	if k == 0 {
		return fmt.Errorf("--plot: no classes to draw")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	hi := 0
	for _, row := range cm {
		for _, v := range row {
			hi = max(hi, v)
		}
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(0)
	pal.SetMax(math.Max(1, float64(hi)))
	h := plotter.NewHeatMap(confusionGrid(cm), pal.Palette(64))
	h.Min, h.Max = 0, math.Max(1, float64(hi))
	p.Add(h)
	if k <= 30 {
		var l plotter.XYLabels
		for i, row := range cm {
			for j, v := range row {
				l.XYs = append(l.XYs, plotter.XY{X: float64(j), Y: float64(k - 1 - i)})
				l.Labels = append(l.Labels, strconv.Itoa(v))
			}
		}
		labels, err := plotter.NewLabels(l)
		if err != nil {
			return err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].XAlign, labels.TextStyle[i].YAlign = -0.5, -0.5
			// White on the dark ends of the palette, black between.
			v := float64(cm[i/k][i%k]) / math.Max(1, float64(hi))
			labels.TextStyle[i].Color = color.Black
			if v < 0.2 || v > 0.8 {
				labels.TextStyle[i].Color = color.White
			}
		}
		p.Add(labels)
	}
	p.X.Tick.Marker = classTicks{k, names, false}
	p.Y.Tick.Marker = classTicks{k, names, true}
	p.X.Min, p.X.Max = -0.5, float64(k)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5
	return savePlot(p, plotWidth, plotWidth, dir, "confusion.png")
}

// curves collects what train --plot draws, step by step and epoch by
// epoch.
type curves struct {
	groups []string
	steps  plotter.XYs   // training loss per step
	lrs    []plotter.XYs // per group
	// Per epoch: the losses at the step where it ended, the others at
	// its number.
	trainLoss, valLoss          plotter.XYs
	valAcc, valTop5, valMacroF1 plotter.XYs
	confusion                   [][]int
	confusionEpoch              int      // the epoch of confusion, from 1
	classNames                  []string // the classes' names, when known
	// best is the watched metric (--save-best); confusion is then the
	// best epoch's, the weights written, once there is one.
	best      string
	bestEpoch int
}

func (c *curves) step(step int64, loss float64, lr []float64) {
	c.steps = append(c.steps, plotter.XY{X: float64(step), Y: loss})
	if len(c.lrs) < len(lr) {
		c.lrs = append(c.lrs, make([]plotter.XYs, len(lr)-len(c.lrs))...)
	}
	for i, v := range lr {
		c.lrs[i] = append(c.lrs[i], plotter.XY{X: float64(step), Y: v})
	}
}

// epoch records an epoch that ended at step.
func (c *curves) epoch(e train.EpochInfo, step int64) {
	c.trainLoss = append(c.trainLoss, plotter.XY{X: float64(step), Y: e.Loss})
	if v := e.Val; v != nil {
		x := float64(e.Epoch + 1)
		c.valLoss = append(c.valLoss, plotter.XY{X: float64(step), Y: v.Loss})
		if v.Classes == 0 {
			return // mse: the loss alone
		}
		c.valAcc = append(c.valAcc, plotter.XY{X: x, Y: v.Accuracy})
		c.valTop5 = append(c.valTop5, plotter.XY{X: x, Y: v.Top5})
		c.valMacroF1 = append(c.valMacroF1, plotter.XY{X: x, Y: v.MacroF1})
		if c.best == "" || e.Best || c.bestEpoch == 0 {
			c.confusion, c.confusionEpoch = v.Confusion, e.Epoch+1
		}
		if e.Best {
			c.bestEpoch = e.Epoch + 1
		}
	}
}

// replay adds to the curves a --metrics line of a run resumed from (a
// step or an epoch line; null, NaN, is left out of the drawing later).
func (c *curves) replay(line []byte) {
	var r struct {
		Type         string              `json:"type"`
		Epoch        int                 `json:"epoch"`
		Step         int64               `json:"step"`
		Loss         *float64            `json:"loss"`
		LR           map[string]*float64 `json:"lr"`
		ValLoss      *float64            `json:"val_loss"`
		ValAccuracy  *float64            `json:"val_accuracy"`
		ValTop5      *float64            `json:"val_top5"`
		ValMacroF1   *float64            `json:"val_macro_f1"`
		ValConfusion [][]int             `json:"val_confusion"`
		Best         bool                `json:"best"`
	}
	if json.Unmarshal(line, &r) != nil {
		return
	}
	num := func(p *float64, ok bool) float64 {
		if p == nil || !ok {
			return math.NaN()
		}
		return *p
	}
	switch r.Type {
	case "step":
		lr := make([]float64, len(c.groups))
		for i, g := range c.groups {
			v, ok := r.LR[g]
			lr[i] = num(v, ok)
		}
		c.step(r.Step, num(r.Loss, true), lr)
	case "epoch":
		e := train.EpochInfo{Epoch: r.Epoch - 1, Loss: num(r.Loss, true), Best: r.Best}
		if r.ValLoss != nil || r.ValAccuracy != nil {
			e.Val = &train.Metrics{Loss: num(r.ValLoss, true)}
			if r.ValAccuracy != nil {
				e.Val.Classes = max(1, len(r.ValConfusion))
				e.Val.Accuracy, e.Val.Top5, e.Val.MacroF1 = *r.ValAccuracy, num(r.ValTop5, true), num(r.ValMacroF1, true)
				e.Val.Confusion = r.ValConfusion
			}
		}
		c.epoch(e, r.Step)
	}
}

// write draws the curves into dir (val.png and confusion.png only when
// there was a validation).
func (c *curves) write(dir string) error {
	if len(c.steps) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "Loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	args := []any{"training loss per step", c.steps}
	if len(c.trainLoss) > 0 {
		args = append(args, "epoch mean (training)", c.trainLoss)
	}
	if len(c.valLoss) > 0 {
		args = append(args, "validation", c.valLoss)
	}
	if err := addLines(p, false, args...); err != nil {
		return err
	}
	if err := savePlot(p, plotWidth, plotHeight, dir, "loss.png"); err != nil {
		return err
	}
	p = plot.New()
	p.Title.Text = "Learning rate"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "learning rate"
	args = nil
	for i, xy := range c.lrs {
		name := fmt.Sprintf("group %d", i)
		if i < len(c.groups) {
			name = c.groups[i]
		}
		args = append(args, name, xy)
	}
	if err := addLines(p, false, args...); err != nil {
		return err
	}
	if err := savePlot(p, plotWidth, plotHeight, dir, "lr.png"); err != nil {
		return err
	}
	if len(c.valAcc) == 0 {
		return nil
	}
	p = plot.New()
	p.Title.Text = "Validation"
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "share of examples"
	if err := addLines(p, true, "accuracy", c.valAcc, "top-5 accuracy", c.valTop5, "macro F1", c.valMacroF1); err != nil {
		return err
	}
	if err := savePlot(p, plotWidth, plotHeight, dir, "val.png"); err != nil {
		return err
	}
	names := c.classNames
	if len(names) != len(c.confusion) {
		names = nil
	}
	title := fmt.Sprintf("Confusion matrix (epoch %d, the last)", c.confusionEpoch)
	if c.best != "" && c.bestEpoch > 0 {
		title = fmt.Sprintf("Confusion matrix (epoch %d, best %s: the model written)", c.bestEpoch, c.best)
	}
	return plotConfusion(dir, title, c.confusion, names)
}

// intTicks puts about eight ticks on whole numbers (steps, epochs).
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	lo, hi = math.Ceil(lo), math.Floor(hi)
	if hi < lo {
		return nil
	}
	// The smallest of 1, 2, 5, 10, 20, 50, ... that gives at most about
	// eight ticks.
	step := 1.0
	for e := 1.0; step < (hi-lo)/8; e *= 10 {
		for _, m := range []float64{1, 2, 5, 10} {
			if step = m * e; step >= (hi-lo)/8 {
				break
			}
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

// addLines adds named lines (with points when a line has few of them),
// each with its own colour, dashes and marker, whole-number ticks on x and
// a legend (drawn beside the plot by savePlot). Points that are NaN or
// infinite (a validation loss of NaN) are left out; a line with none left
// is named in the legend only, with "(no finite value)". With share the y
// axis is 0 to 1; otherwise it spans the data with a margin (a constant
// line gets an axis around it, not one of rounding noise), with tick
// labels precise enough to differ.
func addLines(p *plot.Plot, share bool, args ...any) error {
	p.Add(plotter.NewGrid())
	p.X.Tick.Marker = intTicks{}
	p.Y.Tick.Marker = distinctTicks{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 1; i < len(args); i += 2 {
		xys := finitePoints(args[i].(plotter.XYs))
		args[i] = xys
		for _, xy := range xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
	}
	switch span := hi - lo; {
	case share:
		p.Y.Min, p.Y.Max = 0, 1
	case math.IsInf(span, 0) || math.IsNaN(span):
		// No finite point: gonum's default axis.
	case span <= 1e-9*math.Max(1, math.Max(math.Abs(lo), math.Abs(hi))):
		c := (lo + hi) / 2
		d := math.Max(0.1*math.Abs(c), 0.1)
		p.Y.Min, p.Y.Max = c-d, c+d
		if lo >= 0 && c-d < 0 {
			p.Y.Min = 0
		}
	default:
		p.Y.Min, p.Y.Max = lo-0.05*span, hi+0.05*span
	}
	for i := 0; i+1 < len(args); i += 2 {
		xy := args[i+1].(plotter.XYs)
		name := args[i].(string)
		k := i / 2
		style := plotter.DefaultLineStyle
		style.Color = plotutil.Color(k)
		style.Width = vg.Points(1.5)
		style.Dashes = plotutil.Dashes(k)
		if len(xy) == 0 {
			p.Legend.Add(name+" (no finite value)", &plotter.Line{LineStyle: style})
			continue
		}
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		l.LineStyle = style
		s.Color = style.Color
		s.Shape = plotutil.Shape(k)
		s.Radius = vg.Points(3 + float64(len(args)/2-1-k))
		p.Add(l)
		if len(xy) <= 50 {
			p.Add(s)
			p.Legend.Add(name, l, s)
		} else {
			p.Legend.Add(name, l)
		}
	}
	return nil
}

// distinctTicks are gonum's default ticks with labels as precise as it
// takes for the labelled ticks to differ (gonum's give "1.208" to every
// tick of an axis from 1.2080 to 1.2083).
type distinctTicks struct{}

func (distinctTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	distinct := func() bool {
		seen := map[string]bool{}
		for _, t := range ticks {
			if t.Label == "" {
				continue
			}
			if seen[t.Label] {
				return false
			}
			seen[t.Label] = true
		}
		return true
	}
	for prec := 3; !distinct() && prec <= 17; prec++ {
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', prec, 64)
			}
		}
	}
	return ticks
}

// finitePoints returns the points whose coordinates are finite.
func finitePoints(xys plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, 0, len(xys))
	for _, xy := range xys {
		if !math.IsNaN(xy.X) && !math.IsInf(xy.X, 0) && !math.IsNaN(xy.Y) && !math.IsInf(xy.Y, 0) {
			out = append(out, xy)
		}
	}
	return out
}

// mkdirPlot creates the folder of --plot.
func mkdirPlot(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	return nil
}
