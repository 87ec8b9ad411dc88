package remap

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/graph"
)

// Options control Apply.
type Options struct {
	Rules  []Rule // applied in order to every pretrained name before matching
	Strict bool   // any missing, unexpected or mismatched name is an error, and nothing changes
	Logger logrus.FieldLogger
}

// Mismatch is a name both models have with other shapes or element types.
type Mismatch struct {
	Name string `json:"name"`
	From string `json:"from"` // the pretrained tensor's type and PyTorch shape, "float32[5,84]"
	Into string `json:"into"` // the target's, "float32[10,84]"
}

// Report says what Apply did with every name. The lists are never nil (so
// they encode as [] in JSON). Matched, Missing and Mismatched follow the
// target's parameter order; Unexpected is sorted.
type Report struct {
	Matched    []string   `json:"matched"`    // in both, equal shape and type (or float types): the pretrained tensor is taken
	Missing    []string   `json:"missing"`    // only in the target, which keeps its tensor
	Unexpected []string   `json:"unexpected"` // only in the pretrained model (after the rules): dropped
	Mismatched []Mismatch `json:"mismatched"` // in both, shapes or (not both float) types differ: the target keeps its tensor
	Warnings   []string   `json:"warnings,omitempty"`
}

// Clean reports whether every name matched: what strict mode requires.
func (r Report) Clean() bool {
	return len(r.Missing)+len(r.Unexpected)+len(r.Mismatched) == 0
}

// ShapeMismatchError is one name whose tensors do not fit: Want is the
// target's type and shape, Got the pretrained model's.
type ShapeMismatchError struct {
	Name      string
	Want, Got string
}

func (e *ShapeMismatchError) Error() string {
	return fmt.Sprintf("remap: %s: pretrained tensor is %s, the target's is %s", e.Name, e.Got, e.Want)
}

// StrictError is Apply's error in strict mode when a name did not match. It
// carries the lists; errors.As finds a *ShapeMismatchError for each
// mismatched name. Its message is one line, listing at most a few names of
// each kind.
type StrictError struct {
	Missing    []string
	Unexpected []string
	Mismatched []Mismatch
}

// maxListed caps the names of each kind in StrictError's message.
const maxListed = 5

func (e *StrictError) Error() string {
	var parts []string
	add := func(what string, items []string) {
		if len(items) == 0 {
			return
		}
		more := ""
		if len(items) > maxListed {
			items, more = items[:maxListed], fmt.Sprintf(" and %d more", len(items)-maxListed)
		}
		parts = append(parts, fmt.Sprintf("%s (%s%s)", what, strings.Join(items, ", "), more))
	}
	add(fmt.Sprintf("%d missing", len(e.Missing)), e.Missing)
	add(fmt.Sprintf("%d unexpected", len(e.Unexpected)), e.Unexpected)
	mm := make([]string, len(e.Mismatched))
	for i, m := range e.Mismatched {
		mm[i] = fmt.Sprintf("%s %s -> %s", m.Name, m.From, m.Into)
	}
	add(fmt.Sprintf("%d mismatched", len(e.Mismatched)), mm)
	return "remap: strict: " + strings.Join(parts, "; ") + "; nothing changed"
}

// Unwrap gives a *ShapeMismatchError for each mismatched name.
func (e *StrictError) Unwrap() []error {
	errs := make([]error, len(e.Mismatched))
	for i, m := range e.Mismatched {
		errs[i] = &ShapeMismatchError{Name: m.Name, Want: m.Into, Got: m.From}
	}
	return errs
}

// Apply loads the pretrained model's parameters into target, as PyTorch's
// fine-tuning recipe does with state_dicts
//
//	pretrained = {k: v for k, v in pretrained.items() if k in model_state}
//	model_state.update(pretrained)
//	model.load_state_dict(model_state)
//
// but properly: names are the recovered PyTorch names of graph.Model.Params
// (so anonymized exports, "onnx::Conv_193", match by module path), the
// pretrained names are rewritten by opts.Rules first, buffers
// (running_mean, running_var) are matched like weights, and a name whose
// shapes differ, or types that are not both float types, is reported in
// Mismatched with the target keeping its tensor, where load_state_dict
// would fail; a float tensor of another float type (float16, bfloat16,
// float32, float64) is taken converted, as load_state_dict's copy_ casts. Values are copied in
// PyTorch's layout: a tensor one side stores transposed (graph.Param.
// Transposed, MatMul weights) is transposed on the way.
//
// The target's tied tensors (one initializer serving several parameters)
// are untied first (Untie), so each parameter takes its own values. The
// pretrained model is only read. Both parameter tables are used as they are
// (importer.Load builds them; a model built by hand calls
// graph.Model.BuildParams).
//
// With opts.Strict, any missing, unexpected or mismatched name makes the
// error a *StrictError and target is left exactly as it was; so are bad
// rules and unreadable tensors, found before anything changes. The Report is
// complete whenever the error is nil or a *StrictError.
func Apply(pretrained, target *graph.Model, opts Options) (Report, error) {
	rep := Report{Matched: []string{}, Missing: []string{}, Unexpected: []string{}, Mismatched: []Mismatch{}}
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	for _, m := range []*graph.Model{pretrained, target} {
		if m == nil || m.Graph == nil {
			return rep, fmt.Errorf("remap: apply: nil model")
		}
	}
	// Parameters held by Constant nodes become initializers, values
	// unchanged, so that they are read and filled as the others.
	for _, m := range []*graph.Model{pretrained, target} {
		if _, err := LiftConstants(m); err != nil {
			return rep, err
		}
	}

	names := make([]string, len(pretrained.Params))
	for i, p := range pretrained.Params {
		names[i] = p.Name
	}
	ren, warnings, err := applyRules(names, opts.Rules)
	if err != nil {
		return rep, fmt.Errorf("remap: %w", err)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	rep.Warnings = warnings
	from := make(map[string]*graph.Param, len(ren))
	for i, r := range ren {
		from[r.name] = pretrained.Params[i]
		if r.name != r.orig {
			log.WithField("param", r.orig).Debugf("renamed to %s", r.name)
		}
	}

	type pair struct {
		src, dst *graph.Param
		name     string // in the target
	}
	var take []pair
	inTarget := make(map[string]bool, len(target.Params))
	for _, q := range target.Params {
		inTarget[q.Name] = true
		p, ok := from[q.Name]
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, q.Name)
			log.WithField("param", q.Name).Debug("missing: kept the target's")
		case !slices.Equal(p.Shape, q.Shape) || p.DType != q.DType && !(p.DType.IsFloat() && q.DType.IsFloat()):
			// Float types differ: load_state_dict's copy_ casts, and so
			// does castFloats.
			rep.Mismatched = append(rep.Mismatched, Mismatch{Name: q.Name, From: describe(p), Into: describe(q)})
			log.WithField("param", q.Name).Debugf("mismatched: %s into %s, kept the target's", describe(p), describe(q))
		default:
			rep.Matched = append(rep.Matched, q.Name)
			take = append(take, pair{p, q, q.Name})
		}
	}
	for _, r := range ren {
		if !inTarget[r.name] {
			rep.Unexpected = append(rep.Unexpected, r.name)
			log.WithField("param", r.name).Debug("unexpected: dropped")
		}
	}
	sort.Strings(rep.Unexpected)
	if w := foldedWarning(pretrained, target, rep.Missing); w != "" {
		rep.Warnings = append(rep.Warnings, w)
		log.Warn(w)
	}
	if len(rep.Matched) == 0 && len(target.Params) > 0 {
		w := fmt.Sprintf("nothing matched: no parameter of the new model (%s) has the name and shape of one of the pretrained model's (%s); the new model keeps all its own (--rename rewrites the pretrained names; onnxtune inspect lists both)",
			firstNames(target.Params), firstNames(pretrained.Params))
		rep.Warnings = append(rep.Warnings, w)
		log.Warn(w)
	}
	if opts.Strict && !rep.Clean() {
		return rep, &StrictError{Missing: rep.Missing, Unexpected: rep.Unexpected, Mismatched: rep.Mismatched}
	}

	// Read and check every value before the target changes.
	values := make([][]byte, len(take))
	for i, c := range take {
		if values[i], err = pytorchLayout(pretrained, c.src); err != nil {
			return rep, fmt.Errorf("remap: pretrained %s: %w", c.src.Name, err)
		}
		if c.src.DType != c.dst.DType {
			if values[i], err = castFloats(values[i], c.src.DType, c.dst.DType); err != nil {
				return rep, fmt.Errorf("remap: pretrained %s: %w", c.src.Name, err)
			}
		}
		q := c.dst
		t := target.Graph.Initializer(q.Initializer)
		if t == nil {
			return rep, fmt.Errorf("remap: target %s: initializer %q not found", c.name, q.Initializer)
		}
		if err := checkSize(t); err != nil {
			return rep, fmt.Errorf("remap: target %s: %w", c.name, err)
		}
		want := int64(len(t.Raw))
		if q.View != nil {
			v, err := byteView(t, q)
			if err != nil {
				return rep, fmt.Errorf("remap: target %s: %w", c.name, err)
			}
			want = v.Len()
		}
		if int64(len(values[i])) != want {
			return rep, fmt.Errorf("remap: %s: %d bytes for a tensor of %d", c.name, len(values[i]), want)
		}
	}
	if len(take) == 0 {
		return rep, nil
	}
	if _, err := Untie(target); err != nil {
		return rep, err
	}
	byName := make(map[string]*graph.Param, len(target.Params))
	readers := make(map[string]int, len(target.Params))
	views := make(map[string]bool) // initializer and node of recurrent views: one reader
	for _, q := range target.Params {
		byName[q.Name] = q
		if q.View != nil {
			key := q.Initializer + "\x00" + q.Node
			if views[key] {
				continue
			}
			views[key] = true
		}
		readers[q.Initializer]++
	}
	for i, c := range take {
		q := byName[c.name]
		if q == nil {
			return rep, fmt.Errorf("remap: target %s: lost after untying", c.name)
		}
		if readers[q.Initializer] > 1 {
			return rep, fmt.Errorf("remap: target %s: initializer %q still serves %d parameters after untying", c.name, q.Initializer, readers[q.Initializer])
		}
		if err := storeLayout(target, q, values[i]); err != nil {
			return rep, fmt.Errorf("remap: target %s: %w", c.name, err)
		}
		log.WithField("param", c.name).Debug("matched: took the pretrained tensor")
	}
	log.WithFields(logrus.Fields{
		"matched": len(rep.Matched), "missing": len(rep.Missing),
		"unexpected": len(rep.Unexpected), "mismatched": len(rep.Mismatched),
	}).Debug("remapped")
	return rep, nil
}

// foldedWarning warns when the pretrained model has no BatchNorm running
// statistics and the target misses some: the pretrained model is likely an
// eval export with BatchNorm folded into the preceding Conv, whose weights
// then hold BatchNorm's scale and match the target's unfolded conv weights
// by name and shape only.
func foldedWarning(pretrained, target *graph.Model, missing []string) string {
	for _, p := range pretrained.Params {
		if p.Role == graph.RoleRunningMean || p.Role == graph.RoleRunningVar {
			return ""
		}
	}
	n := 0
	for _, name := range missing {
		if p := target.Param(name); p != nil && (p.Role == graph.RoleRunningMean || p.Role == graph.RoleRunningVar) {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("the pretrained model has no BatchNorm running statistics and the target misses %d: "+
		"if it is an eval export, BatchNorm is folded into its Conv weights, which then do not fit the target's BatchNorm "+
		"(export with training=TrainingMode.PRESERVE, do_constant_folding=False)", n)
}

// pytorchLayout returns a copy of p's values laid out as PyTorch holds the
// tensor (undoing the transpose of a MatMul weight).
func pytorchLayout(m *graph.Model, p *graph.Param) ([]byte, error) {
	t := m.Graph.Initializer(p.Initializer)
	if t == nil {
		return nil, fmt.Errorf("initializer %q not found", p.Initializer)
	}
	if err := checkSize(t); err != nil {
		return nil, err
	}
	if p.View != nil {
		// Part of the tensor (a recurrent op's direction, gates reordered).
		v, err := byteView(t, p)
		if err != nil {
			return nil, err
		}
		out := make([]byte, v.Len())
		graph.Gather(v, out, t.Raw)
		return out, nil
	}
	if !p.Transposed {
		return slices.Clone(t.Raw), nil
	}
	return transpose(t)
}

// byteView is p's view over the bytes of t, its initializer, checked to
// lie within them.
func byteView(t *graph.Tensor, p *graph.Param) (*graph.ParamView, error) {
	if t.DType.Bits()%8 != 0 {
		return nil, fmt.Errorf("parameter %q: a view of %s values", p.Name, t.DType)
	}
	v := p.View.Bytes(int(t.DType.Bits() / 8))
	if !v.Fits(int64(len(t.Raw))) {
		return nil, fmt.Errorf("parameter %q: its view does not fit initializer %q of %d bytes", p.Name, t.Name, len(t.Raw))
	}
	return v, nil
}

// storeLayout writes values, laid out as PyTorch holds q, into q's
// initializer, transposing when the file stores q transposed.
func storeLayout(m *graph.Model, q *graph.Param, values []byte) error {
	t := m.Graph.Initializer(q.Initializer)
	if t == nil {
		return fmt.Errorf("initializer %q not found", q.Initializer)
	}
	if err := checkSize(t); err != nil {
		return err
	}
	if q.View != nil {
		// Only q's part of the tensor changes.
		v, err := byteView(t, q)
		if err != nil {
			return err
		}
		if int64(len(values)) != v.Len() {
			return fmt.Errorf("%d bytes for parameter %q of %d", len(values), q.Name, v.Len())
		}
		raw := slices.Clone(t.Raw)
		graph.Scatter(v, raw, values)
		t.Raw = raw
		return nil
	}
	if len(values) != len(t.Raw) {
		return fmt.Errorf("%d bytes for initializer %q of %d", len(values), t.Name, len(t.Raw))
	}
	if q.Transposed {
		// t holds (in, out); values are (out, in): transpose those.
		src := &graph.Tensor{Name: t.Name, DType: t.DType, Dims: []int64{t.Dims[1], t.Dims[0]}, Raw: values}
		var err error
		if values, err = transpose(src); err != nil {
			return err
		}
	} else {
		values = slices.Clone(values)
	}
	t.Raw = values
	return nil
}

// castFloats converts little-endian values of float type from into float
// type to, as PyTorch's Tensor.copy_ casts them (to a 16-bit type through
// float32, rounding to nearest, ties to even).
func castFloats(raw []byte, from, to graph.DType) ([]byte, error) {
	var v []float64
	switch from {
	case graph.Float32:
		x, err := graph.Decode[float32](raw)
		if err != nil {
			return nil, err
		}
		v = graph.Convert[float32, float64](x)
	case graph.Float64:
		x, err := graph.Decode[float64](raw)
		if err != nil {
			return nil, err
		}
		v = x
	case graph.Float16, graph.BFloat16:
		x, err := graph.Decode[uint16](raw)
		if err != nil {
			return nil, err
		}
		v = make([]float64, len(x))
		for i, h := range x {
			if from == graph.Float16 {
				v[i] = float64(graph.F16(h).Float32())
			} else {
				v[i] = float64(graph.BF16(h).Float32())
			}
		}
	default:
		return nil, fmt.Errorf("cannot convert %s values", from)
	}
	if to == graph.Float64 {
		return graph.Encode(v), nil
	}
	// To a 32- or 16-bit type through float32, as copy_ does.
	out, err := graph.EncodeFloat32sAs(to, graph.Convert[float64, float32](v))
	if err != nil {
		return nil, fmt.Errorf("cannot convert %s values to %s", from, to)
	}
	return out, nil
}

// checkSize checks that a tensor's bytes fit its dims and type.
func checkSize(t *graph.Tensor) error {
	if t.DType == graph.String || t.DType.Bits() == 0 {
		return fmt.Errorf("initializer %q: %s values cannot be copied", t.Name, t.DType)
	}
	n, err := graph.NumElements(t.Dims)
	if err != nil {
		return fmt.Errorf("initializer %q: %w", t.Name, err)
	}
	if want := t.DType.ByteLen(n); want != int64(len(t.Raw)) {
		return fmt.Errorf("initializer %q: %d bytes for %d %s values", t.Name, len(t.Raw), n, t.DType)
	}
	return nil
}

// transpose returns the values of the 2-D tensor t with its axes swapped.
func transpose(t *graph.Tensor) ([]byte, error) {
	if len(t.Dims) != 2 || t.DType.Bits()%8 != 0 {
		return nil, fmt.Errorf("initializer %q: cannot transpose %s%v", t.Name, t.DType, t.Dims)
	}
	r, c, size := int(t.Dims[0]), int(t.Dims[1]), t.DType.Bits()/8
	out := make([]byte, len(t.Raw))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			copy(out[(j*r+i)*size:(j*r+i+1)*size], t.Raw[(i*c+j)*size:(i*c+j+1)*size])
		}
	}
	return out, nil
}

// describe gives a parameter's type and PyTorch shape: "float32[5,84]".
func describe(p *graph.Param) string {
	parts := make([]string, len(p.Shape))
	for i, d := range p.Shape {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return fmt.Sprintf("%s[%s]", p.DType, strings.Join(parts, ","))
}

// firstNames lists up to three parameter names, then how many more.
func firstNames(ps []*graph.Param) string {
	if len(ps) == 0 {
		return "none"
	}
	var names []string
	for i, p := range ps {
		if i == 3 {
			names = append(names, fmt.Sprintf("%d more", len(ps)-3))
			break
		}
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
