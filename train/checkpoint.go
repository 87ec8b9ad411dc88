package train

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxtune/onnxtune/internal/fsx"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// Checkpoints are one .npz file, written atomically, keyed by PyTorch
// state_dict names throughout, so that one made before 'onnxtune convert'
// renamed the model's tensors (onnx::Conv_27 to conv1.weight) resumes after
// it: "w/NAME" for every float parameter and buffer, BatchNorm's running
// statistics included (in the model's layout and shape), "opt/NAME/KEY"
// for optimizer buffers (torch.optim's keys: momentum_buffer, exp_avg,
// exp_avg_sq) and "steps/NAME" for step counts, "ema/NAME" for the EMA
// copy of every float parameter and buffer (StepOptions.EMA), "rng" for the state of
// Dropout's random stream, and "meta" (JSON bytes: format version,
// position, batches per epoch, the optimizer and its groups with the
// hyperparameters that shape the updates, by the table's names, and the
// run's other settings that shape it: seed, shuffle, schedule, its unit,
// length and warmup, loss, label smoothing, StepOptions, the watched metric
// and the patience), "ema/NAME" for the EMA copy, and with a watched metric
// (Config.Best) "best/NAME" for the best epoch's weights, whose epoch and
// value "meta" holds with the epochs since. Checkpoints are written between
// optimizer steps only (with GradAccum, at the start of a group), so no
// accumulated gradient is ever saved.
const checkpointFile = "checkpoint.npz"

// checkpointVersion is the format written; others are refused. Version 2
// keyed weights by ONNX initializer names; version 3 had no settings but
// the optimizer's; version 4 moved cosine schedules once per epoch and had
// no schedule unit or length, no step options and no watched metric.
const checkpointVersion = 5

// position is where a run is, saved in checkpoints.
type position struct {
	Epoch int   `json:"epoch"` // epoch in progress
	Batch int   `json:"batch"` // next batch of that epoch
	Step  int64 `json:"step"`  // optimizer steps done
	// The sums of the epoch's steps done (mid-epoch), so that a resumed
	// epoch reports the means of all its batches.
	LossSum float64 `json:"loss_sum,omitempty"`
	Correct int     `json:"correct,omitempty"`
	Seen    int     `json:"seen,omitempty"`
}

type checkpointMeta struct {
	Version   int         `json:"version"`
	Position  position    `json:"position"`
	Batches   int         `json:"batches"`
	Optimizer Algorithm   `json:"optimizer"`
	Groups    []metaGroup `json:"groups"`
	// Settings are the run's settings besides the optimizer's, as text
	// (runSettings).
	Settings map[string]string `json:"settings"`
	// Best is the watched metric's state (with Config.Best).
	Best *metaBest `json:"best,omitempty"`
}

// metaBest is a bestKeeper's state: Epoch 0 when no epoch was best yet
// (Value is then NaN, not saved).
type metaBest struct {
	Epoch int     `json:"epoch"`
	Value float64 `json:"value"`
	Bad   int     `json:"bad"`
}

// runSettings lists the settings of cfg besides the optimizer's that decide
// a run's result: a resume under other values would match no
// uninterrupted run. Its length (epochs, steps) may change, except when the
// schedule spans the run (linear, cosine, onecycle, a warmup ratio): then
// schedule_length, the resolved Schedule.Total, must stay.
func runSettings(cfg Config) map[string]string {
	s := cfg.Schedule
	warmup := strconv.FormatInt(s.Warmup, 10)
	if s.WarmupRatio > 0 {
		warmup = "ratio:" + strconv.FormatFloat(s.WarmupRatio, 'g', -1, 64)
	}
	length := "any"
	if s.needsTotal() {
		length = strconv.FormatInt(s.Total, 10)
	}
	loss := cfg.Loss
	if loss == "" {
		loss = CrossEntropy
	}
	return stepSettings(cfg.StepOptions, map[string]string{
		"seed":            strconv.FormatInt(cfg.Seed, 10),
		"shuffle":         strconv.FormatBool(cfg.Shuffle),
		"schedule":        s.String(),
		"schedule_unit":   s.unit(),
		"schedule_length": length,
		"warmup":          warmup,
		"warmup_from":     strconv.FormatFloat(s.WarmupFrom, 'g', -1, 64),
		"loss":            string(loss),
		"label_smoothing": strconv.FormatFloat(cfg.Smoothing, 'g', -1, 64),
		"best":            string(cfg.Best),
		"early_stop":      strconv.Itoa(cfg.Patience),
	})
}

type metaGroup struct {
	Name   string             `json:"name"`
	Params []string           `json:"params"`
	Hyper  map[string]float64 `json:"hyper"`
}

// checkpoint reads and writes the checkpoints of one run.
type checkpoint struct {
	dir     string
	tr      *Trainer
	groups  *Assignment
	batches int
	accum   int      // StepOptions.GradAccum, at least 1
	ema     *emaCopy // the EMA copy, or nil
	// settings are the run's (runSettings).
	settings map[string]string
	// best is the watched metric's state, saved and restored (nil or
	// with no metric: none).
	best *bestKeeper
}

func (c *checkpoint) path() string { return CheckpointPath(c.dir) }

// CheckpointPath is the file a run with Config.Checkpoint dir reads and
// writes its checkpoint in (callers check it before a run, as they check
// their other outputs).
func CheckpointPath(dir string) string { return filepath.Join(dir, checkpointFile) }

func (c *checkpoint) meta(p position) checkpointMeta {
	algo := c.tr.Opt.Algorithm()
	m := checkpointMeta{Version: checkpointVersion, Position: p, Batches: c.batches, Optimizer: algo, Settings: c.settings}
	for _, g := range c.groups.Groups {
		m.Groups = append(m.Groups, metaGroup{Name: g.Name, Params: append([]string{}, g.Params...), Hyper: g.Hyper.values(algo)})
	}
	if b := c.best; b != nil && b.metric != "" {
		m.Best = &metaBest{Epoch: b.epoch, Bad: b.bad}
		if b.epoch > 0 {
			m.Best.Value = b.value
		}
	}
	return m
}

func (c *checkpoint) save(p position) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tr := c.tr
	arrs := make(map[string]npz.Array)
	for _, w := range tr.tensors {
		arrs["w/"+w.name] = npz.Array{Shape: w.shape(), Data: w.values()}
	}
	if c.ema != nil {
		for i, w := range tr.tensors {
			arrs["ema/"+w.name] = npz.Array{Shape: w.shape(), Data: slices.Clone(c.ema.vals[i])}
		}
	}
	st := tr.Opt.State()
	for name, bufs := range st.Buffers {
		for k, b := range bufs {
			arrs["opt/"+name+"/"+k] = npz.Array{Shape: []int{len(b)}, Data: slices.Clone(b)}
		}
	}
	for name, s := range st.Steps {
		arrs["steps/"+name] = npz.Array{Shape: []int{1}, Data: []int64{s}}
	}
	rs, err := tr.randState()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	arrs["rng"] = npz.Array{Shape: []int{len(rs)}, Data: rs}
	if b := c.best; b != nil && b.weights != nil {
		for _, w := range tr.tensors {
			arrs["best/"+w.name] = npz.Array{Shape: w.shape(), Data: slices.Clone(b.weights[w.name])}
		}
	}
	js, err := json.Marshal(c.meta(p))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	arrs["meta"] = npz.Array{Shape: []int{len(js)}, Data: js}
	return npz.Write(c.path(), arrs)
}

// limit bounds the bytes a checkpoint of this run can hold: the weights,
// two optimizer buffers per trained parameter, and room for headers and
// the JSON.
func (c *checkpoint) limit() (bytes int64, members int) {
	for _, w := range c.tr.tensors {
		bytes += 2 * int64(w.size()) * 4 // the weights and the best epoch's
		members += 2
		if c.ema != nil {
			bytes += int64(w.size()) * 4
			members++
		}
	}
	for _, g := range c.groups.Groups {
		bytes += 2 * 4 * g.Count
		members += 3 * len(g.Params)
	}
	members += 2
	return bytes + int64(members)*1024 + 1<<20, members
}

// load reads the checkpoint, checks it against the model and the run's
// settings (epochs and steps are the run's length), and only then puts its
// values into the trainer. The file is treated as hostile: its size is
// bounded by what this run's checkpoint can hold, and every entry must be
// one this run writes, of the size it writes.
func (c *checkpoint) load(epochs int, steps int64) (position, error) {
	path := c.path()
	fail := func(format string, args ...any) (position, error) {
		return position{}, fmt.Errorf("checkpoint %s: %s", path, fmt.Sprintf(format, args...))
	}
	arrs, err := c.read()
	if err != nil {
		return fail("%v", err)
	}
	mb, ok := arrs["meta"].Data.([]uint8)
	if !ok {
		return fail("no settings (not a checkpoint, or one from an older onnxtune)")
	}
	var meta checkpointMeta
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		var v struct{ Version int }
		if json.Unmarshal(mb, &v) == nil && v.Version != checkpointVersion {
			return fail("format version %d, want %d", v.Version, checkpointVersion)
		}
		return fail("settings: %v", err)
	}
	if dec.More() {
		return fail("settings: more than one JSON value")
	}
	if meta.Version != checkpointVersion {
		return fail("format version %d, want %d", meta.Version, checkpointVersion)
	}
	if err := c.matches(meta); err != nil {
		return fail("%v", err)
	}
	p := meta.Position
	if err := c.inRange(p, epochs, steps); err != nil {
		return fail("%v", err)
	}
	watched := c.best != nil && c.best.metric != ""
	switch {
	case watched && meta.Best == nil:
		return fail("no state of the watched metric")
	case !watched && meta.Best != nil:
		return fail("state of a watched metric, this run watches none")
	case watched && (meta.Best.Epoch < 0 || meta.Best.Epoch > p.Epoch || meta.Best.Bad < 0 || meta.Best.Bad > p.Epoch):
		return fail("best epoch %d (%d since) does not fit epoch %d", meta.Best.Epoch, meta.Best.Bad, p.Epoch)
	}
	if err := c.entries(arrs, p.Step, watched && meta.Best.Epoch > 0); err != nil {
		return fail("%v", err)
	}
	// Everything fits: use it.
	tr := c.tr
	for _, w := range tr.tensors {
		w.set(arrs["w/"+w.name].Data.([]float32))
	}
	st := tr.Opt.State()
	st.reset()
	for k, a := range arrs {
		switch {
		case strings.HasPrefix(k, "opt/"):
			rest := k[len("opt/"):]
			i := strings.LastIndexByte(rest, '/')
			name, key := rest[:i], rest[i+1:]
			if st.Buffers[name] == nil {
				st.Buffers[name] = make(map[string][]float32)
			}
			st.Buffers[name][key] = a.Data.([]float32)
		case strings.HasPrefix(k, "steps/"):
			st.Steps[k[len("steps/"):]] = a.Data.([]int64)[0]
		}
	}
	if c.ema != nil {
		if err := c.ema.set(tr, func(name string) []float32 { return arrs["ema/"+name].Data.([]float32) }); err != nil {
			return fail("%v", err)
		}
	}
	if err := tr.setRandState(arrs["rng"].Data.([]uint8)); err != nil {
		return fail("random state: %v", err)
	}
	if watched {
		b := c.best
		b.epoch, b.bad, b.value, b.weights = meta.Best.Epoch, meta.Best.Bad, nan(), nil
		b.seen = p.Epoch > 0 // a validation after every epoch done
		if b.epoch > 0 {
			b.value = meta.Best.Value
			b.weights = make(map[string][]float32, len(tr.tensors))
			for _, w := range tr.tensors {
				b.weights[w.name] = arrs["best/"+w.name].Data.([]float32)
			}
		}
	}
	return p, nil
}

// read reads the checkpoint file after checking that it is a regular file
// whose members fit this run's bound.
func (c *checkpoint) read() (map[string]npz.Array, error) {
	path := c.path()
	f, st, err := fsx.OpenRegular(path)
	if err != nil {
		return nil, errors.Unwrap(err) // load names the path
	}
	defer f.Close()
	limit, members := c.limit()
	if st.Size() > limit {
		return nil, fmt.Errorf("%d bytes, more than a checkpoint of this model holds (%d)", st.Size(), limit)
	}
	z, err := zip.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("not a valid .npz (zip) archive: %w", err)
	}
	if len(z.File) > members {
		return nil, fmt.Errorf("%d entries, more than a checkpoint of this model has (%d)", len(z.File), members)
	}
	var total uint64
	for _, zf := range z.File {
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > uint64(limit) || total > uint64(limit) {
			return nil, fmt.Errorf("entries of more than %d bytes, more than a checkpoint of this model holds", limit)
		}
	}
	return npz.ReadReader(f, st.Size())
}

// matches compares the checkpoint's settings with this run's.
func (c *checkpoint) matches(meta checkpointMeta) error {
	if meta.Batches != c.batches {
		return fmt.Errorf("saved with %d batches per epoch, this run has %d (different data or batch size)", meta.Batches, c.batches)
	}
	if algo := c.tr.Opt.Algorithm(); meta.Optimizer != algo {
		return fmt.Errorf("saved with optimizer %s, this run uses %s", meta.Optimizer, algo)
	}
	want := c.meta(position{})
	if len(meta.Groups) != len(want.Groups) {
		return fmt.Errorf("saved with %d parameter groups, this run has %d", len(meta.Groups), len(want.Groups))
	}
	for i, g := range want.Groups {
		if h := meta.Groups[i]; h.Name != g.Name {
			return fmt.Errorf("group %d is %q there, %q here", i, h.Name, g.Name)
		}
	}
	for i, g := range want.Groups {
		h := meta.Groups[i]
		if !slices.Equal(h.Params, g.Params) {
			for j := range max(len(h.Params), len(g.Params)) {
				there, here := "nothing", "nothing"
				if j < len(h.Params) {
					there = fmt.Sprintf("%q", h.Params[j])
				}
				if j < len(g.Params) {
					here = fmt.Sprintf("%q", g.Params[j])
				}
				if there != here {
					return fmt.Errorf("group %q: parameter %d is %s there, %s here", g.Name, j, there, here)
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(h.Hyper)) {
			if _, ok := g.Hyper[k]; !ok {
				return fmt.Errorf("group %q: %s is not a setting of %s", g.Name, k, want.Optimizer)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g.Hyper)) {
			v, ok := h.Hyper[k]
			switch {
			case !ok:
				return fmt.Errorf("group %q: %s is missing", g.Name, k)
			case v != g.Hyper[k]:
				return fmt.Errorf("group %q: %s is %v there, %v here", g.Name, k, v, g.Hyper[k])
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(meta.Settings)) {
		if _, ok := want.Settings[k]; !ok {
			return fmt.Errorf("setting %q is not one this run has", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.Settings)) {
		v, ok := meta.Settings[k]
		if k == "data" {
			v = effectiveDataSettings(v)
		}
		switch {
		case !ok:
			return fmt.Errorf("setting %q is missing", k)
		case v != want.Settings[k]:
			return fmt.Errorf("saved with other settings: %s is %s there, %s here", k, v, want.Settings[k])
		}
	}
	return nil
}

// inRange checks a position against the run: within its epochs and steps,
// and a step count that fits the epoch and batch.
func (c *checkpoint) inRange(p position, epochs int, steps int64) error {
	nb := int64(c.batches)
	accum := int64(max(c.accum, 1))
	switch {
	case p.Epoch < 0 || p.Epoch > epochs:
		return fmt.Errorf("position: epoch %d is outside this run's %d epochs", p.Epoch, epochs)
	case p.Batch < 0 || int64(p.Batch) >= nb:
		return fmt.Errorf("position: batch %d is outside an epoch's %d batches", p.Batch, nb)
	case steps > 0 && (p.Step < 0 || p.Step > steps):
		return fmt.Errorf("position: step %d is outside this run's %d steps", p.Step, steps)
	case p.Seen < 0 || p.Correct < 0 || p.Correct > p.Seen || !(p.LossSum >= 0) || !finite(p.LossSum) || p.Batch == 0 && p.Seen != 0:
		return fmt.Errorf("position: epoch sums (loss %v, %d correct of %d) do not fit", p.LossSum, p.Correct, p.Seen)
	}
	if int64(p.Batch)%accum != 0 {
		return fmt.Errorf("position: batch %d is inside a group of %d accumulated batches", p.Batch, accum)
	}
	// Optimizer steps: an epoch has StepsPerEpoch of them.
	spe := int64(StepsPerEpoch(int(nb), int(accum)))
	at := int64(p.Epoch)*spe + int64(p.Batch)/accum
	if p.Step != at {
		return fmt.Errorf("position: %d steps done do not fit epoch %d, batch %d of %d batches", p.Step, p.Epoch, p.Batch, nb)
	}
	return nil
}

// entries checks that the arrays are exactly the ones this run writes after
// step steps, of the types and sizes it writes.
func (c *checkpoint) entries(arrs map[string]npz.Array, steps int64, best bool) error {
	tr := c.tr
	want := map[string]int{"meta": -1, "rng": -1}
	shapes := make(map[string][]int)
	for _, w := range tr.tensors {
		want["w/"+w.name] = w.size()
		shapes[w.name] = w.shape()
		if c.ema != nil {
			want["ema/"+w.name] = w.size()
		}
		if best {
			want["best/"+w.name] = w.size()
		}
	}
	for _, g := range c.groups.Groups {
		if steps == 0 {
			continue
		}
		for _, name := range g.Params {
			want["steps/"+name] = 1
			h := g.Hyper
			if tr.Momentum != 0 { // onecycle: SGD has momentum even when its group has none
				h = withMomentum(h, tr.Opt.Algorithm(), tr.Momentum)
			}
			for _, key := range tr.Opt.Buffers(h) {
				want["opt/"+name+"/"+key] = want["w/"+name]
			}
		}
	}
	keys := make([]string, 0, len(arrs))
	for k := range arrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := want[k]; !ok {
			return fmt.Errorf("entry %q is not one this run has", k)
		}
	}
	wantKeys := make([]string, 0, len(want))
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(wantKeys)
	for _, k := range wantKeys {
		a, ok := arrs[k]
		if !ok {
			return fmt.Errorf("entry %q is missing", k)
		}
		n := want[k]
		switch {
		case k == "meta":
		case k == "rng":
			if _, ok := a.Data.([]uint8); !ok {
				return fmt.Errorf("random state is %T, want bytes", a.Data)
			}
		case strings.HasPrefix(k, "steps/"):
			s, ok := a.Data.([]int64)
			if !ok || len(s) != 1 || s[0] != steps {
				return fmt.Errorf("parameter %q: step count %v, want %d (the position's)", k[len("steps/"):], a.Data, steps)
			}
		case strings.HasPrefix(k, "w/"), strings.HasPrefix(k, "ema/"), strings.HasPrefix(k, "best/"):
			name := k[strings.IndexByte(k, '/')+1:]
			v, ok := a.Data.([]float32)
			shape := shapes[name]
			if !ok || len(v) != n || !slices.Equal(a.Shape, shape) {
				what := "parameter"
				switch k[0] {
				case 'e':
					what = "EMA of"
				case 'b':
					what = "best epoch's"
				}
				return fmt.Errorf("%s %q: %s %v there, float32 %v in the model", what, name, dtypeName(a.Data), a.Shape, shape)
			}
		default:
			v, ok := a.Data.([]float32)
			if !ok || len(v) != n {
				return fmt.Errorf("optimizer state %q: %d %s values, want %d float32", k[len("opt/"):], len(v), dtypeName(a.Data), n)
			}
		}
	}
	return nil
}

func dtypeName(v any) string { return strings.TrimPrefix(fmt.Sprintf("%T", v), "[]") }
