package data

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/npz"
)

// npzData is a dataset held in memory from an .npz file.
type npzData struct {
	n       int
	fields  []Field
	cols    []column  // the values of each batched field, all examples; nil for fixed ones
	arrays  []string  // the array of the file that gave each field
	labels  []int64   // with class labels
	targets []float32 // with float targets
	tshape  []int     // of one target
}

var (
	_ Dataset = (*npzData)(nil)
	_ labeler = (*npzData)(nil)
)

// OpenNPZ opens an .npz file (numpy.savez) of examples along the first
// axis of its arrays, read for a model's inputs when Options.Inputs says
// what they are (OpenNPZWith; see below), else as x and y:
//
//   - x: the examples, float32 or int64 (float64 is converted to float32 and
//     int32 to int64), or int8, uint8 or bool;
//   - y: class labels (int64, int32, int8 or uint8, shape [N], none
//     negative) or float targets (float32, or float64 converted, shape
//     [N, ...]).
//
// Other arrays in the file are ignored (but read). The values are used as
// stored: no normalization is applied. The arrays may take
// graph.DefaultMaxBytes together; OpenNPZWith sets another limit.
//
// For a model (Options.Inputs), each graph input is fed by the array of
// its name, of the element type the input declares: float64 is converted
// to float32 and int32 to int64 when the input wants those; a float16
// input takes float16 arrays (widened to float32 exactly: the engine
// holds half values in float32) and float32 or float64 ones rounded to
// float16, a bfloat16 input float32 or float64 ones rounded to bfloat16
// (to nearest, ties to even, as numpy's astype and PyTorch's .half()
// round); any other difference is an error. An array gives one value per
// example along the input's batch axis (Input.BatchAxis: axis 0 unless
// the model declares the batch elsewhere, as the initial states
// [layers, batch, hidden] of a recurrent network), and must have the
// input's rank, its fixed sizes on the other axes, and the same size for a
// symbolic dimension wherever that name is used; a 0-d array feeds a 0-d
// input, and an array feeds an input without a batch (BatchAxis -1) as
// it is, one value for every batch. Every
// array must name an input, except y; a missing or extra array is an
// error. A model of one input may instead take its examples from x, as
// above, and then other arrays are ignored. Errors name the array and the
// input, with the shape and element type it declares.
func OpenNPZ(path string) (Dataset, error) {
	return OpenNPZWith(path, Options{})
}

// OpenNPZWith is OpenNPZ with options, as Open applies them to an .npz file:
// Options.Inputs says what feeds the model, Options.MaxBytes bounds the
// arrays of the file (each and together), Classes and PerClass select
// examples, and the options about images are an error.
func OpenNPZWith(path string, opts Options) (Dataset, error) {
	if err := noImageOptions(path, opts, true); err != nil {
		return nil, err
	}
	ds, err := openNPZ(path, opts)
	if err != nil {
		return nil, err
	}
	return finish(path, ds, opts)
}

func openNPZ(path string, opts Options) (Dataset, error) {
	arrays, err := npz.ReadWith(path, npz.Options{MaxBytes: opts.MaxBytes})
	if err != nil {
		// npz's errors already name the file.
		return nil, fmt.Errorf("data: %w", err)
	}
	d, err := npzExamples(path, arrays, opts.Inputs, opts.InputType, opts.Unlabeled)
	if err != nil {
		return nil, err
	}
	if opts.Unlabeled {
		return d, nil
	}
	if err := d.addLabels(path, arrays); err != nil {
		return nil, err
	}
	return d, nil
}

// feed is an array of an .npz file and the model input it feeds.
type feed struct {
	array string
	in    Input
	// examples: the array must have examples along its first axis (x
	// read without a model, whose inputs are not known).
	examples bool
}

// npzFeeds matches the arrays of a file with the model's inputs.
// Without inputs, x is the examples, of element type inputType when that is
// known.
func npzFeeds(path string, arrays map[string]npz.Array, inputs []Input, inputType graph.DType, unlabeled bool) ([]feed, error) {
	if len(inputs) == 0 {
		_, hasX := arrays["x"]
		_, hasY := arrays["y"]
		switch {
		case !hasX && !hasY && !unlabeled:
			return nil, fileErr(path, "no arrays x and y (examples and labels) in the archive (it has %s)", names(arrays))
		case !hasX:
			return nil, fileErr(path, "no array x (examples) in the archive (it has %s)", names(arrays))
		}
		// The input's name is not known; its type may be (InputType).
		return []feed{{"x", Input{DType: inputType}, true}}, nil
	}
	if len(inputs) == 1 {
		in := inputs[0]
		_, named := arrays[in.Name]
		if _, hasX := arrays["x"]; !named && hasX {
			return []feed{{"x", in, false}}, nil // other arrays are not read
		}
		if !named {
			return nil, fileErr(path, "no array %s (or x) for the model's input %s (the archive has %s)", shown(in.Name), in, names(arrays))
		}
	}
	feeds := make([]feed, len(inputs))
	used := map[string]bool{"y": true}
	for k, in := range inputs {
		if _, ok := arrays[in.Name]; !ok {
			return nil, fileErr(path, "no array %s for the model's input %s (the archive has %s)", shown(in.Name), in, names(arrays))
		}
		if in.Name == "y" && !unlabeled {
			return nil, fileErr(path, "the model's input %s takes the array y, which then cannot hold the labels", in)
		}
		feeds[k] = feed{in.Name, in, false}
		used[in.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(arrays)) {
		if !used[name] {
			what := "input is"
			if len(inputs) > 1 {
				what = "inputs are"
			}
			return nil, fileErr(path, "array %s feeds no input: the model's %s %s (labels go in y)", shown(name), what, inputList(inputs))
		}
	}
	return feeds, nil
}

// symbol is where a symbolic dimension got its size.
type symbol struct {
	size  int
	array string
}

// npzExamples makes a dataset of the examples of the file (without labels;
// addLabels adds them), one field per model input (or x).
func npzExamples(path string, arrays map[string]npz.Array, inputs []Input, inputType graph.DType, unlabeled bool) (*npzData, error) {
	feeds, err := npzFeeds(path, arrays, inputs, inputType, unlabeled)
	if err != nil {
		return nil, err
	}
	d := &npzData{n: -1}
	first := "" // the array that set n
	symbols := map[string]symbol{}
	for _, f := range feeds {
		a := arrays[f.array]
		field, values, err := npzField(path, f, a, symbols)
		if err != nil {
			return nil, err
		}
		var c column
		if field.Fixed == nil {
			axis := field.BatchAxis
			switch n := a.Shape[axis]; {
			case d.n < 0:
				d.n, first = n, f.array
			case n != d.n:
				along := ""
				if axis != 0 {
					along = fmt.Sprintf(" along axis %d, where the model's input %s has its batch", axis, f.in)
				}
				return nil, fileErr(path, "array %s has %d examples%s (shape %v), %s has %d", shown(f.array), n, along, a.Shape, shown(first), d.n)
			}
			c, _ = asColumn(values)
			c = fromAxis(c, a.Shape, axis)
		}
		d.fields = append(d.fields, field)
		d.cols = append(d.cols, c)
		d.arrays = append(d.arrays, f.array)
	}
	switch {
	case d.n < 0:
		return nil, fileErr(path, "no array has examples along its batch's axis (the model's inputs are %s)", inputList(inputs))
	case d.n == 0:
		return nil, fileErr(path, "no examples (%s has shape %v)", shown(first), arrays[first].Shape)
	}
	return d, nil
}

// npzField checks array a against the input it feeds and returns its
// field and values (converted to the input's element type).
func npzField(path string, f feed, a npz.Array, symbols map[string]symbol) (Field, any, error) {
	in := f.in
	stored, ok := arrayType(a.Data)
	if !ok {
		return Field{}, nil, fileErr(path, "%s has element type %s, want %s", shown(f.array), elemName(a.Data), elemTypeList)
	}
	values, ok := convertTo(a.Data, in.DType)
	if !ok {
		return Field{}, nil, fileErr(path, "%s is %s %v, the model's input %s%s", shown(f.array), stored, a.Shape, in.is(), takes(in.DType))
	}
	dt, _, _ := elemType(values)
	field := Field{Name: cmp.Or(in.Name, f.array), DType: dt}
	if len(a.Shape) == 0 {
		switch {
		case in.HasShape && len(in.Dims) > 0:
			return Field{}, nil, fileErr(path, "%s is a 0-d value, the model's input %s", shown(f.array), in.is())
		case f.examples:
			return Field{}, nil, fileErr(path, "%s is a scalar, want examples along its first axis", shown(f.array))
		}
		field.Shape, field.Fixed = []int{}, values
		return field, values, nil
	}
	if !in.HasShape {
		field.Shape = slices.Clone(a.Shape[1:])
		if numel(field.Shape) == 0 {
			return Field{}, nil, fileErr(path, "examples are empty (%s has shape %v)", shown(f.array), a.Shape)
		}
		return field, values, nil
	}
	if len(in.Dims) == 0 {
		return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s (a 0-d array feeds it, one value for every batch)", shown(f.array), a.Shape, in.is())
	}
	if len(a.Shape) != len(in.Dims) {
		return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s", shown(f.array), a.Shape, in.is())
	}
	axis := in.BatchAxis
	if axis >= len(in.Dims) {
		return Field{}, nil, fileErr(path, "the model's input %s has its batch on axis %d", in.is(), axis)
	}
	// The batch's axis: a fixed batch size is the engine's to check, for
	// the batches as they come. An input without a batch (axis -1) is
	// checked on every axis.
	for i, dim := range in.Dims {
		got := a.Shape[i]
		switch {
		case i == axis:
		case dim.HasValue && int64(got) != dim.Value:
			return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s%s", shown(f.array), a.Shape, in.is(), batchNote(in))
		case dim.HasParam && !dim.HasValue:
			s, seen := symbols[dim.Param]
			if seen && s.size != got {
				return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s, and %s gives %s = %d%s", shown(f.array), a.Shape, in.is(), shown(s.array), dim.Param, s.size, batchNote(in))
			}
			if !seen {
				symbols[dim.Param] = symbol{got, f.array}
			}
		}
	}
	if axis < 0 {
		field.Shape, field.Fixed = slices.Clone(a.Shape), values
		return field, values, nil
	}
	field.Shape = slices.Delete(slices.Clone(a.Shape), axis, axis+1)
	field.BatchAxis = axis
	if numel(field.Shape) == 0 {
		return Field{}, nil, fileErr(path, "examples are empty (%s has shape %v)", shown(f.array), a.Shape)
	}
	return field, values, nil
}

// batchNote says, for a message about an array's shape, where the input
// has its batch when that is not axis 0.
func batchNote(in Input) string {
	switch {
	case in.BatchAxis < 0:
		return " (no batch: the array is its value for every batch)"
	case in.BatchAxis > 0:
		return fmt.Sprintf(" (the examples along axis %d)", in.BatchAxis)
	}
	return ""
}

// takes says, for a message, which element types a half input of type
// want takes ("" for other types).
func takes(want graph.DType) string {
	switch want {
	case graph.Float16:
		return " (it takes float16, or float32 or float64 rounded to float16)"
	case graph.BFloat16:
		return " (it takes float32 or float64, rounded to bfloat16; numpy has no bfloat16)"
	}
	return ""
}

// arrayType returns the element type of an .npz array's data: one of
// elemTypes', or float16.
func arrayType(data any) (graph.DType, bool) {
	if _, ok := data.([]graph.F16); ok {
		return graph.Float16, true
	}
	dt, _, ok := elemType(data)
	return dt, ok
}

// convertTo returns data as the engine takes it for an input of element
// type want: as it is when it has that type; float64 converted to float32
// and int32 to int64 when want is those (or, with want undefined, always:
// a model's inputs are mostly of those types). A float16 or bfloat16
// input takes a float32 tensor holding values of its type (graph/ops'
// half precision): float16 values widen to float32 exactly, float32 and
// float64 values are rounded to want to nearest, ties to even (graph's
// codec), as numpy's astype and PyTorch's .half() round (float64 through
// float32 rounded to odd, which then rounds as directly would). ok is
// false for any other difference.
func convertTo(data any, want graph.DType) (any, bool) {
	got, _ := arrayType(data)
	switch v := data.(type) {
	case []float64:
		switch want {
		case graph.Float32, graph.Undefined:
			return convert[float32](v), true
		case graph.Float16, graph.BFloat16:
			out := make([]float32, len(v))
			for i, x := range v {
				out[i] = toOdd32(x)
			}
			return roundTo(want, out), true
		}
	case []float32:
		if want == graph.Float16 || want == graph.BFloat16 {
			return roundTo(want, slices.Clone(v)), true
		}
	case []graph.F16:
		if want == graph.Float16 || want == graph.Undefined {
			out := make([]float32, len(v))
			for i, h := range v {
				out[i] = h.Float32()
			}
			return out, true
		}
		return data, false
	case []int32:
		if want == graph.Int64 || want == graph.Undefined {
			return convert[int64](v), true
		}
	}
	return data, got == want || want == graph.Undefined
}

// toOdd32 returns v rounded to float32 to odd: truncated toward zero, the
// last bit set when that was inexact. Rounded on to a type of at most 22
// bits of precision (float16's 11, bfloat16's 8) to nearest, it gives what
// rounding v directly does (no double rounding: Boldo and Melquiond,
// "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", 2008).
func toOdd32(v float64) float32 {
	f := float32(v)
	if float64(f) == v || math.IsNaN(v) {
		return f
	}
	if math.Abs(float64(f)) > math.Abs(v) { // rounded away from zero (or to infinity)
		f = math.Nextafter32(f, 0)
	}
	return math.Float32frombits(math.Float32bits(f) | 1)
}

// roundTo rounds v to half type d in place and returns it.
func roundTo(d graph.DType, v []float32) []float32 {
	for i, x := range v {
		if d == graph.BFloat16 {
			v[i] = graph.BF16FromFloat32(x).Float32()
		} else {
			v[i] = graph.F16FromFloat32(x).Float32()
		}
	}
	return v
}

// addLabels reads y, the class labels or float targets of the examples.
func (d *npzData) addLabels(path string, arrays map[string]npz.Array) error {
	y, ok := arrays["y"]
	if !ok {
		return fileErr(path, "no array y (labels or targets) in the archive (it has %s)", names(arrays))
	}
	if len(y.Shape) == 0 {
		return fileErr(path, "y is a scalar, want one label or target per example")
	}
	if y.Shape[0] != d.n {
		k := slices.IndexFunc(d.fields, func(f Field) bool { return f.Fixed == nil })
		return fileErr(path, "%s has %d examples (shape %v) but y has %d (shape %v)", shown(d.arrays[k]), d.n, arrays[d.arrays[k]].Shape, y.Shape[0], y.Shape)
	}
	switch v := y.Data.(type) {
	case []float32:
		d.targets, d.tshape = v, slices.Clone(y.Shape[1:])
	case []float64:
		d.targets, d.tshape = convert[float32](v), slices.Clone(y.Shape[1:])
	case []graph.F16:
		d.targets, d.tshape = make([]float32, len(v)), slices.Clone(y.Shape[1:])
		for i, h := range v {
			d.targets[i] = h.Float32()
		}
	case []int64:
		d.labels = v
	case []int32:
		d.labels = convert[int64](v)
	case []int8:
		d.labels = convert[int64](v)
	case []uint8:
		d.labels = convert[int64](v)
	default:
		return fileErr(path, "y has element type %s, want integer class labels or float32 targets", elemName(y.Data))
	}
	if d.labels != nil {
		if len(y.Shape) != 1 {
			return fileErr(path, "y holds integer labels of shape %v, want one label per example (shape [%d])", y.Shape, d.n)
		}
		for i, l := range d.labels {
			if l < 0 {
				return fileErr(path, "label y[%d] = %d is negative, want a class index", i, l)
			}
		}
	}
	return nil
}

func (d *npzData) Len() int        { return d.n }
func (d *npzData) Fields() []Field { return cloneFields(d.fields) }

func (d *npzData) TargetShape() ([]int, bool) {
	if d.targets == nil {
		return nil, false
	}
	return slices.Clone(d.tshape), true
}

func (d *npzData) label(i int) int64 { return d.labels[i] }

func (d *npzData) Read(i int, x []any, target []float32) (int64, error) {
	if i < 0 || i >= d.n {
		return 0, fmt.Errorf("data: example %d out of range [0, %d)", i, d.n)
	}
	if len(x) != len(d.fields) {
		return 0, fmt.Errorf("data: Read into %d arrays, want %d", len(x), len(d.fields))
	}
	for k, c := range d.cols {
		if c == nil {
			continue // fixed
		}
		if err := c.copyRow(x[k], i, numel(d.fields[k].Shape)); err != nil {
			return 0, err
		}
	}
	if d.labels != nil {
		return d.labels[i], nil
	}
	if d.targets == nil { // Options.Unlabeled
		return 0, nil
	}
	ts := numel(d.tshape)
	if len(target) != ts {
		return 0, fmt.Errorf("data: Read with a target of length %d, want %d", len(target), ts)
	}
	copy(target, d.targets[i*ts:])
	return 0, nil
}

func convert[T, F int64 | int32 | int8 | uint8 | float32 | float64](v []F) []T {
	out := make([]T, len(v))
	for i, e := range v {
		out[i] = T(e)
	}
	return out
}

func elemName(data any) string {
	switch data.(type) {
	case []float32:
		return "float32"
	case []float64:
		return "float64"
	case []graph.F16:
		return "float16"
	case []int64:
		return "int64"
	case []int32:
		return "int32"
	case []int8:
		return "int8"
	case []uint8:
		return "uint8"
	case []bool:
		return "bool"
	}
	return fmt.Sprintf("%T", data)
}

func names(arrays map[string]npz.Array) string {
	if len(arrays) == 0 {
		return "none"
	}
	var s []string
	for k := range arrays {
		s = append(s, shown(k))
	}
	slices.Sort(s)
	if len(s) > 8 {
		s = append(s[:8], "...")
	}
	return fmt.Sprint(s)
}

// shown returns an array's name for a message: as it is when it is plain
// printable text, else quoted (a name read from a file may hold anything).
func shown(name string) string {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) {
		return strconv.Quote(name)
	}
	return name
}
