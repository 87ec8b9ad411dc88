package data

import (
	"cmp"
	"fmt"
	"maps"
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
// to float32 and int32 to int64 when the input wants those, any other
// difference is an error. An array with a first axis gives one value per
// example and must have the input's rank, its fixed sizes after the first
// axis, and the same size for a symbolic dimension wherever that name is
// used; a 0-d array feeds a 0-d input, one value for every batch. Every
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
			switch n := a.Shape[0]; {
			case d.n < 0:
				d.n, first = n, f.array
			case n != d.n:
				return nil, fileErr(path, "array %s has %d examples (shape %v), %s has %d", shown(f.array), n, a.Shape, shown(first), d.n)
			}
			c, _ = asColumn(values)
		}
		d.fields = append(d.fields, field)
		d.cols = append(d.cols, c)
		d.arrays = append(d.arrays, f.array)
	}
	switch {
	case d.n < 0:
		return nil, fileErr(path, "no array has examples along its first axis (the model's inputs are %s)", inputList(inputs))
	case d.n == 0:
		return nil, fileErr(path, "no examples (%s has shape %v)", shown(first), arrays[first].Shape)
	}
	return d, nil
}

// npzField checks array a against the input it feeds and returns its
// field and values (converted to the input's element type).
func npzField(path string, f feed, a npz.Array, symbols map[string]symbol) (Field, any, error) {
	in := f.in
	stored, _, ok := elemType(a.Data)
	if !ok {
		return Field{}, nil, fileErr(path, "%s has element type %s, want %s", shown(f.array), elemName(a.Data), elemTypeList)
	}
	values, ok := convertTo(a.Data, in.DType)
	if !ok {
		return Field{}, nil, fileErr(path, "%s is %s %v, the model's input %s", shown(f.array), stored, a.Shape, in.is())
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
	field.Shape = slices.Clone(a.Shape[1:])
	if !in.HasShape {
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
	// The first axis is the batch: a fixed batch size is the engine's to
	// check, for the batches as they come.
	for i, dim := range in.Dims[1:] {
		got := a.Shape[i+1]
		switch {
		case dim.HasValue && int64(got) != dim.Value:
			return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s", shown(f.array), a.Shape, in.is())
		case dim.HasParam && !dim.HasValue:
			s, seen := symbols[dim.Param]
			if seen && s.size != got {
				return Field{}, nil, fileErr(path, "%s has shape %v, the model's input %s, and %s gives %s = %d", shown(f.array), a.Shape, in.is(), shown(s.array), dim.Param, s.size)
			}
			if !seen {
				symbols[dim.Param] = symbol{got, f.array}
			}
		}
	}
	if numel(field.Shape) == 0 {
		return Field{}, nil, fileErr(path, "examples are empty (%s has shape %v)", shown(f.array), a.Shape)
	}
	return field, values, nil
}

// convertTo returns data as the element type want: as it is when it has
// that type; float64 converted to float32 and int32 to int64 when want is
// those (or, with want undefined, always: a model's inputs are mostly of
// those types). ok is false for any other difference.
func convertTo(data any, want graph.DType) (any, bool) {
	got, _, _ := elemType(data)
	switch v := data.(type) {
	case []float64:
		if want == graph.Float32 || want == graph.Undefined {
			return convert[float32](v), true
		}
	case []int32:
		if want == graph.Int64 || want == graph.Undefined {
			return convert[int64](v), true
		}
	}
	return data, got == want || want == graph.Undefined
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
		return fileErr(path, "%s has %d examples (shape %v) but y has %d (shape %v)", shown(d.arrays[k]), d.n, append([]int{d.n}, d.fields[k].Shape...), y.Shape[0], y.Shape)
	}
	switch v := y.Data.(type) {
	case []float32:
		d.targets, d.tshape = v, slices.Clone(y.Shape[1:])
	case []float64:
		d.targets, d.tshape = convert[float32](v), slices.Clone(y.Shape[1:])
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
