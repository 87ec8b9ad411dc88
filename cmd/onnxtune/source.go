package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/remap"
	"github.com/onnxtune/onnxtune/train/data"
)

// The data path of run, eval and train: openData opens --data or --val
// with train/data (npz, mnist:train|test, image folders) for the model
// that reads it, and the batches of its data.Loader go to the engine as
// they are (train.Run reads the same Loader).

// inputsText says, for the --help of run, eval and train, how an .npz file
// feeds a model's inputs.
const inputsText = `An .npz file feeds the model's graph inputs by name ('onnxtune inspect'
lists them): one array per input, named after it, with the examples along
its batch axis (the first, unless the model declares the batch elsewhere:
an LSTM's initial states h0, c0 [layers, batch, hidden] have it on axis 1);
y holds the class labels (or float targets). Each array must have the
element type the input declares (int64 ids and masks, int32, bool,
float32, float64; float64 is converted for a float32 input and int32 for an
int64 one; a float16 input takes float16, float32 or float64 arrays, a
bfloat16 input float32 or float64 ones, rounded to its type), its rank and
its fixed sizes, and a symbolic dimension (batch, sequence) the same size
in every array; the batches slice all of them alike along their batch
axes. A 0-d array feeds a 0-d input, and an array feeds an input without a
batch as it is: the same value for every batch.
A model of one input may take its examples from an array x instead (other
arrays are then not read). A missing or extra array, or one the input does
not take, exits 1 naming the input with its declared element type and
shape (symbolic dimensions by name). MNIST and image folders feed a model
of one input.`

// imageFlags say how image folders (and MNIST's pixels) are read; run,
// eval and train take them.
type imageFlags struct {
	size      []int
	mean, std []float64
	grayscale bool
	maxPixels positiveInt // zero (not from a flag): data's default
	cropPct   float64
	interp    string
	fs        *pflag.FlagSet  // where they were registered (which were set)
	skip      map[string]bool // flags not applied to this data (see forSources)
}

// changed reports whether flag name was given (and applies).
func (im imageFlags) changed(name string) bool {
	return im.fs != nil && im.fs.Changed(name) && !im.skip[name]
}

// forSources returns the image flags for each of train's data sources
// (--data, then --val when given): a flag applies to every source of a
// form that uses it, and is left out for the others when one source uses
// it (--image-size for an image folder and an .npz file). A flag no source
// uses is left in, for the source to refuse.
func (im imageFlags) forSources(specs ...string) []imageFlags {
	folder := func(s string) bool { return isFolder(s) }
	mnist := func(s string) bool { return strings.HasPrefix(s, "mnist:") }
	out := make([]imageFlags, len(specs))
	for i, s := range specs {
		out[i] = im
		var others []string
		others = append(others, specs[:i]...)
		others = append(others, specs[i+1:]...)
		drop := map[string]bool{}
		if !folder(s) && slices.ContainsFunc(others, folder) {
			drop["image-size"], drop["crop-pct"], drop["grayscale"], drop["interpolation"] = true, true, true, true
			out[i].size, out[i].grayscale = nil, false
		}
		if !folder(s) && !mnist(s) && (slices.ContainsFunc(others, folder) || slices.ContainsFunc(others, mnist)) {
			drop["mean"], drop["std"] = true, true
			out[i].mean, out[i].std = nil, nil
		}
		out[i].skip = drop
	}
	return out
}

func (im *imageFlags) register(fs *pflag.FlagSet) {
	im.fs = fs
	fs.IntSliceVar(&im.size, "image-size", nil, "image folders: resize and center-crop to H,W (or one size for both)")
	fs.Float64Var(&im.cropPct, "crop-pct", 1, "image folders: resize to --image-size/F, then center-crop (timm's crop_pct; 0 stretches)")
	fs.Float64SliceVar(&im.mean, "mean", nil, "image folders: per-channel mean to subtract (default ImageNet's)")
	fs.Float64SliceVar(&im.std, "std", nil, "image folders: per-channel standard deviation (default ImageNet's)")
	for _, name := range []string{"mean", "std"} {
		// Their default is ImageNet's, said in the usage: not an empty list.
		fs.Lookup(name).DefValue = ""
	}
	fs.BoolVar(&im.grayscale, "grayscale", false, "image folders: read images as one channel")
	fs.StringVar(&im.interp, "interpolation", "bilinear", "image folders: the resize filter, bilinear, bicubic or nearest (PIL's, as torchvision's InterpolationMode)")
	im.maxPixels = data.DefaultMaxImagePixels
	fs.Var(&im.maxPixels, "max-image-pixels", "image folders: most pixels (height x width) of one image, as Pillow's limit against decompression bombs")
}

// positiveInt is an int64 flag of 1 or more.
type positiveInt int64

func (p *positiveInt) String() string { return strconv.FormatInt(int64(*p), 10) }
func (p *positiveInt) Type() string   { return "int" }

func (p *positiveInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return fmt.Errorf("want a whole number of 1 or more")
	}
	*p = positiveInt(v)
	return nil
}

// imageFlagNames are the flags of the data.Options an *data.OptionError
// names.
var imageFlagNames = map[string]string{
	"ImageSize": "--image-size", "Mean": "--mean", "Std": "--std", "Grayscale": "--grayscale",
	"MaxImagePixels": "--max-image-pixels", "CropPct": "--crop-pct", "Interpolation": "--interpolation",
	"Augment": "--scale, --hflip or --color-jitter", "Scale": "--scale", "Ratio": "--ratio", "HFlip": "--hflip", "ColorJitter": "--color-jitter",
}

// optionWords says the library's data.Options in the CLI's flags.
var optionWords = strings.NewReplacer(optionPairs...)

// optionPairs are optionWords' replacements: old, new, ...
var optionPairs = []string{
	"options Mean and Std", "--mean and --std",
	"option ImageSize", "--image-size", "(ImageSize)", "(--image-size)",
	"option Grayscale", "--grayscale",
	"option CropPct", "--crop-pct",
	"option Interpolation", "--interpolation",
	"option MaxImagePixels", "--max-image-pixels",
	"option Mean", "--mean", "option Std", "--std",
	"augmentation applies", "--scale, --ratio, --hflip and --color-jitter apply",
	"RandomResizedCrop needs", "--scale needs",
	"set an image size to resize them all", "give --image-size to resize them all",
	"MaxBytes allows", "--max-bytes allows",
}

// metaKeys are the keys of onnxtune.preprocess (data.Preprocess's JSON)
// of the data.Options the model's metadata gives.
var metaKeys = map[string]string{"ImageSize": "size", "CropPct": "crop_pct", "Mean": "mean", "Std": "std",
	"Grayscale": "grayscale", "Interpolation": "interpolation"}

// metaWords says data.Options in the CLI's words, naming those in fromMeta
// (taken from the model's metadata) by their key in it rather than by a
// flag the user did not give.
func metaWords(fromMeta map[string]bool) *strings.Replacer {
	if len(fromMeta) == 0 {
		return optionWords
	}
	meta := "the model's metadata " + data.MetaPreprocess + " "
	var pairs []string
	if fromMeta["Mean"] && fromMeta["Std"] {
		pairs = append(pairs, "options Mean and Std", meta+"mean and std")
	}
	for opt, key := range metaKeys {
		if fromMeta[opt] {
			pairs = append(pairs, "option "+opt, meta+key, "("+opt+")", "("+data.MetaPreprocess+" "+key+")")
		}
	}
	return strings.NewReplacer(append(pairs, optionPairs...)...)
}

// reworded is an error whose text is said in the CLI's words.
type reworded struct {
	msg string
	err error
}

func (r *reworded) Error() string { return r.msg }
func (r *reworded) Unwrap() error { return r.err }

// imageSize checks --image-size and returns it as data.Options.ImageSize
// (zeros when not given).
func (im *imageFlags) imageSize() ([2]int, error) {
	var size [2]int
	switch len(im.size) {
	case 0:
		return size, nil
	case 1:
		size = [2]int{im.size[0], im.size[0]}
	case 2:
		size = [2]int{im.size[0], im.size[1]}
	default:
		return size, fmt.Errorf("invalid --image-size %v: want H,W or one size for both", im.size)
	}
	if size[0] < 1 || size[1] < 1 {
		return size, fmt.Errorf("invalid --image-size %v: want sizes of 1 or more", im.size)
	}
	return size, nil
}

// need is what a command needs of its data besides the examples.
type need int

const (
	examplesOnly    need = iota // run: y of an .npz file is not read
	classLabels                 // eval and --val: integer labels y
	labelsOrTargets             // train: labels, or float targets for --loss mse
)

// dataSpec is the data a command reads and how.
type dataSpec struct {
	spec     string // --data or --val
	need     need
	batch    int
	image    imageFlags
	perClass int     // training data only
	classes  []int64 // training data only
	shuffle  bool
	seed     int64
	aug      *data.Augment // training data only
	names    []string      // --class-names: the label space of an image folder (else the model's metadata)
}

// dataFlags gives run and eval their data flags, read into d: the required
// --data (described by usage), --batch-size (64 by default, 1 or more) and
// the image flags.
func dataFlags(c *cobra.Command, d *dataSpec, usage string) {
	f := c.Flags()
	f.StringVar(&d.spec, "data", "", usage)
	f.IntVar(&d.batch, "batch-size", 64, "examples per batch")
	d.image.register(f)
	c.MarkFlagRequired("data")
	c.PreRunE = func(*cobra.Command, []string) error {
		if d.batch < 1 {
			return fmt.Errorf("invalid --batch-size %d: want 1 or more", d.batch)
		}
		return nil
	}
}

// openData opens d.spec for model m, the one way run, eval and train read
// data: an .npz file feeds each of m's inputs from the array of its name (a
// one-input model also from x), checked against what m declares (element
// type after npz's conversions of float64 and int32, rank and sizes);
// --max-bytes bounds what the files make onnxtune allocate, and the images
// of a folder must have the height and width of m's input (unless
// resized), checked before decoding. The batches of the loader it returns
// hold m's inputs by name.
func (a *app) openData(m *graph.Model, d dataSpec) (*data.Loader, error) {
	ins, err := data.InputsOf(m)
	if err != nil {
		return nil, err
	}
	size, err := d.image.imageSize()
	if err != nil {
		return nil, &usageError{err}
	}
	opts := data.Options{Mean: d.image.mean, Std: d.image.std, Grayscale: d.image.grayscale, ImageSize: size,
		MaxBytes: a.limit, MaxImagePixels: int64(d.image.maxPixels),
		PerClass: d.perClass, Classes: d.classes, Unlabeled: d.need == examplesOnly, Augment: d.aug}.ForInputs(ins)
	fromMeta, err := imageOptions(m, d.spec, d.image, &opts)
	if err != nil {
		return nil, err
	}
	words := metaWords(fromMeta)
	if d.need != examplesOnly && isFolder(d.spec) {
		// Labels are the model's classes by name: --class-names, or the
		// names its metadata records (a folder may hold some of them).
		if opts.ClassNames = d.names; opts.ClassNames == nil {
			if opts.ClassNames, _, err = data.ReadMetadata(m); err != nil {
				return nil, err
			}
		}
	}
	ds, err := data.Open(d.spec, opts)
	// An option that does not apply to the data, or a value no data
	// takes, is a mistake of the command line.
	if oe := (*data.OptionError)(nil); errors.As(err, &oe) && imageFlagNames[oe.Option] != "" {
		msg := words.Replace(oe.Err.Error())
		var where []string
		if fe := (*data.FileError)(nil); errors.As(err, &fe) {
			where = append(where, fe.Path)
		}
		if fromMeta[oe.Option] {
			// The model's, not the command line's: the flag overrides it.
			where = append(where, imageFlagNames[oe.Option]+" overrides it")
			return nil, &reworded{msg + " (" + strings.Join(where, "; ") + ")", err}
		}
		if len(where) > 0 {
			msg += " (" + where[0] + ")"
		}
		return nil, &usageError{errors.New(msg)}
	}
	if err != nil {
		return nil, &reworded{words.Replace(err.Error()), err}
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("%s has no examples", d.spec)
	}
	if folders := data.RenamedFolders(ds); folders != nil {
		classes, _, _ := data.Describe(ds)
		var pairs []string
		for i, f := range folders {
			if i == 5 {
				pairs = append(pairs, "...")
				break
			}
			pairs = append(pairs, f+"="+classes[i])
		}
		a.log.Warnf("%s: no class folder is named as one of the class names: the sorted folders are labelled by position (%s)",
			d.spec, strings.Join(pairs, ", "))
	}
	if _, targets := ds.TargetShape(); targets && d.need == classLabels {
		return nil, fmt.Errorf("%s has float targets; want integer class labels y", d.spec)
	}
	// A batch larger than the data is all of it, as in PyTorch's
	// DataLoader (and the count of batches cannot overflow).
	batch := min(d.batch, ds.Len())
	if err := a.anyBatch(m, ds.Len(), batch); err != nil {
		return nil, err
	}
	return data.NewLoader(ds, batch, d.shuffle, d.seed)
}

// anyBatch makes m run at the batch sizes n examples in batches of batch
// give, when its inputs fix another batch (as both PyTorch exporters write
// models unless asked otherwise): remap.DynamicBatch rewrites and proves
// it, and the log says so. A rewrite that cannot be proved is an error
// naming the node that pins the batch.
func (a *app) anyBatch(m *graph.Model, n, batch int) error {
	fixed := remap.FixedBatch(m)
	if fixed == 0 || (int64(batch) == fixed && int64(n)%fixed == 0) {
		return nil
	}
	a.logProof(m)
	rep, err := remap.DynamicBatch(m, remap.BatchOptions{MaxBytes: a.limit})
	if err != nil {
		return fmt.Errorf("the model's inputs fix the batch at %d and the data comes in batches of %d: %w (export with dynamic_shapes, or use --batch-size %d)", fixed, batch, err, fixed)
	}
	a.log.WithFields(logrus.Fields{"exported_batch": rep.Batch, "rewrites": len(rep.Rewrites), "proved_at": rep.ProvedAt}).
		Infof("the model was exported at batch %d: rewritten to run at any batch (%d constants; proved at batches %v)", rep.Batch, len(rep.Rewrites), rep.ProvedAt)
	return nil
}

// logProof says, before remap.DynamicBatch runs a model exported at a
// fixed batch three times over, what it is doing: at info level for a
// model whose initializers hold over proofNoticeElems elements (the proof
// then takes seconds: 11 s for a BERT-base encoder at batch 8), else at
// debug level, so that a small model's error stays one line.
func (a *app) logProof(m *graph.Model) {
	b := remap.FixedBatch(m)
	if b <= 0 {
		return
	}
	var elems int64
	for _, t := range m.Graph.Initializers {
		elems += t.Len()
	}
	e := a.log.WithField("exported_batch", b)
	msg := fmt.Sprintf("the model was exported at batch %d: proving that it runs at any batch (it runs at batch %d and at another)", b, b)
	if elems > proofNoticeElems {
		e.Info(msg)
	} else {
		e.Debug(msg)
	}
}

// proofNoticeElems is the size of a model (initializer elements) over
// which logProof speaks at info level.
const proofNoticeElems = 16 << 20
