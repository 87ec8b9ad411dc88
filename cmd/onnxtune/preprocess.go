package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/train/data"
)

// preprocessText says, for the --help of run, eval and train, how image
// folders are prepared and what the model's metadata gives.
const preprocessText = `Image folders are read as torchvision's ImageFolder: with --image-size S (or
H,W), each image is resized as timm's evaluation transform with --crop-pct F
(1 unless the model says otherwise): Resize(int(S/F)) of the shorter side,
antialiased as PIL does with --interpolation bilinear (the default), bicubic
(timm's choice for many models) or nearest, then CenterCrop(S) (zero-padded when
F > 1), then Normalize(--mean, --std). --crop-pct 1 keeps an image already of
size S as it is; 0.875 is timm's and torchvision's ImageNet choice
(Resize(256), CenterCrop(224)); 0 stretches every image to H,W
(torchvision's Resize((H, W))). Without --image-size, every image must have
the model's input size. A model written by 'onnxtune train' from an image
folder carries its class names and this preprocessing in its metadata
(onnxtune.class_names, onnxtune.preprocess): run, eval and train read them
as the defaults of --image-size, --crop-pct, --mean, --std, --grayscale and
--interpolation,
so a folder of images of mixed sizes needs no flags; flags given win. With
class names (the model's, or train's --class-names), a folder's classes are
labelled by name, so a folder may hold some of them in any order; a class
folder the names lack is an error (when no folder matches a name and there
are as many names as folders, the names rename the folders in sorted order,
with a warning that pairs them).
train applies these flags to each of --data and --val that is an image folder
(--mean and --std to MNIST too) and refuses one only when no source uses it;
MNIST's digits are read at 28x28, not resized.`

// augmentFlags are train's augmentation flags, for the training data only.
type augmentFlags struct {
	scale, ratio  []float64
	hflip, jitter float64
}

func (af *augmentFlags) register(fs *pflag.FlagSet) {
	fs.Float64SliceVar(&af.scale, "scale", nil, "training images: RandomResizedCrop with this share of the area, MIN,MAX (torchvision's default 0.08,1), resized to --image-size (default: no crop)")
	fs.Float64SliceVar(&af.ratio, "ratio", nil, "training images: RandomResizedCrop's aspect ratios MIN,MAX (default 0.75,1.333: torchvision's 3/4,4/3); needs --scale")
	for _, name := range []string{"scale", "ratio"} {
		// Defaults said in the usage (--scale: off), not an empty list.
		fs.Lookup(name).DefValue = ""
	}
	fs.Float64Var(&af.hflip, "hflip", 0, "training images: probability of a horizontal flip (RandomHorizontalFlip)")
	fs.Float64Var(&af.jitter, "color-jitter", 0, "training images: ColorJitter(brightness=S, contrast=S, saturation=S), in a random order")
}

// augmentText is train's help on augmentation.
const augmentText = `Augmentation (training images only, timm's order): --scale MIN,MAX [--ratio
MIN,MAX] crops as RandomResizedCrop (ten attempts, then the center crop) and
resizes the crop to --image-size; --hflip P flips; --color-jitter S adjusts
brightness, contrast and saturation in a random order. The draws for an
example depend only on --seed, the epoch and the example, so --resume
reproduces an uninterrupted run. --val and the exported model's metadata
use the evaluation transform.`

// augment returns the augmentation the flags ask for (nil for none).
func (af *augmentFlags) augment(seed int64) (*data.Augment, error) {
	pair := func(name string, v []float64) ([2]float64, error) {
		switch len(v) {
		case 0:
			return [2]float64{}, nil
		case 2:
			return [2]float64{v[0], v[1]}, nil
		}
		return [2]float64{}, fmt.Errorf("invalid --%s %v: want MIN,MAX", name, v)
	}
	scale, err := pair("scale", af.scale)
	if err != nil {
		return nil, &usageError{err}
	}
	ratio, err := pair("ratio", af.ratio)
	if err != nil {
		return nil, &usageError{err}
	}
	a := &data.Augment{Scale: scale, Ratio: ratio, HFlip: af.hflip, ColorJitter: af.jitter, Seed: seed}
	if *a == (data.Augment{Seed: seed}) {
		return nil, nil
	}
	return a, nil
}

// isFolder reports whether a data spec names an image folder (neither
// mnist: nor an .npz file).
func isFolder(spec string) bool {
	return !strings.HasPrefix(spec, "mnist:") && !strings.HasSuffix(strings.ToLower(spec), ".npz")
}

// imageOptions fills the image options of opts for data spec: the flags,
// and for an image folder the model's metadata (onnxtune.preprocess) where
// a flag is not given. fromMeta holds the data.Options names of those the
// metadata gave.
func imageOptions(m *graph.Model, spec string, im imageFlags, opts *data.Options) (fromMeta map[string]bool, err error) {
	var pre *data.Preprocess
	if isFolder(spec) {
		if _, pre, err = data.ReadMetadata(m); err != nil {
			return nil, err
		}
	}
	set := im.changed
	cropPct := im.cropPct
	if pre != nil {
		fromMeta = map[string]bool{}
		if !set("image-size") {
			opts.ImageSize = pre.Size
			fromMeta["ImageSize"] = true
		}
		if !set("crop-pct") {
			cropPct = pre.CropPct
			fromMeta["CropPct"] = true
		}
		if !set("mean") {
			opts.Mean = pre.Mean
			fromMeta["Mean"] = true
		}
		if !set("std") {
			opts.Std = pre.Std
			fromMeta["Std"] = true
		}
		if !set("grayscale") {
			opts.Grayscale = pre.Grayscale
			fromMeta["Grayscale"] = true
		}
		if !set("interpolation") {
			opts.Interpolation = data.Interpolation(pre.Interpolation)
			fromMeta["Interpolation"] = true
		}
	}
	if set("interpolation") {
		opts.Interpolation = data.Interpolation(im.interp)
	}
	if opts.ImageSize != [2]int{} || set("crop-pct") {
		opts.CropPct = cropPct
	}
	return fromMeta, nil
}

// describeModel writes into m's metadata what train learnt of its data:
// the class names (names, or the image folder's) and the folder's
// evaluation preprocessing. Names are written only when they count the
// classes the model scores (when that is known); otherwise it returns a
// one-line warning naming both counts and writes none.
func describeModel(m *graph.Model, ds data.Dataset, names []string) (warning string, err error) {
	classes, pre, ok := data.Describe(ds)
	if names != nil {
		classes = names
	}
	if k := modelClasses(m); classes != nil && k > 0 && len(classes) != k {
		warning = fmt.Sprintf("no class names written: the data has %d classes (%s), the model scores %d; give --class-names with %d names, or replace the head for %d classes (onnxtune replace-head --classes %d)",
			len(classes), capList(classes, 5), k, k, len(classes), len(classes))
		classes = nil
	}
	var p *data.Preprocess
	if ok {
		p = &pre
	}
	return warning, data.SetMetadata(m, classes, p)
}

// modelClasses returns the number of classes m's first output scores (C
// of [N, C]), or 0 when that is not known.
func modelClasses(m *graph.Model) int {
	ins, err := data.InputsOf(m)
	if err != nil || len(ins) == 0 {
		return 0
	}
	return ins[0].Classes
}

// capList joins up to n names with ", " (and "..." after them).
func capList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + ", ..."
}

// checkClassNames checks --class-names against the classes model m
// scores (its first output [N, C], when C is known).
func checkClassNames(m *graph.Model, names []string) error {
	if names == nil {
		return nil
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" {
			return &usageError{fmt.Errorf("invalid --class-names: name %d is empty", i)}
		}
		if seen[n] {
			return &usageError{fmt.Errorf("invalid --class-names: %q is given twice", n)}
		}
		seen[n] = true
	}
	ins, err := data.InputsOf(m)
	if err != nil || len(ins) == 0 || ins[0].Classes == 0 {
		return nil
	}
	if c := ins[0].Classes; c != len(names) {
		return &usageError{fmt.Errorf("invalid --class-names: %d names, the model scores %d classes", len(names), c)}
	}
	return nil
}

// classNamesOf returns names, or else the model's class names from its
// metadata (nil when it has none). Metadata names that do not count the
// classes the model scores (when known) are an error saying how to go on:
// they cannot say which class is which.
func classNamesOf(m *graph.Model, names []string) ([]string, error) {
	if names != nil {
		return names, nil
	}
	classes, _, err := data.ReadMetadata(m)
	if err != nil {
		return nil, err
	}
	if k := modelClasses(m); classes != nil && k > 0 && len(classes) != k {
		return nil, fmt.Errorf("the model's metadata (%s) names %d classes (%s) but the model scores %d: give --class-names with %d names",
			data.MetaClassNames, len(classes), capList(classes, 5), k, k)
	}
	return classes, nil
}

// predictedNames returns the class name of each prediction (nil without
// names); a prediction past the names is an error (the metadata does not
// fit the model).
func predictedNames(pred []int, names []string) ([]string, error) {
	if names == nil || pred == nil {
		return nil, nil
	}
	out := make([]string, len(pred))
	for i, p := range pred {
		if p < 0 || p >= len(names) {
			return nil, fmt.Errorf("example %d is predicted class %d, but the class names are %d: give --class-names with a name for every class the model scores", i, p, len(names))
		}
		out[i] = names[p]
	}
	return out, nil
}

// headClassNames sets the class names of a model whose head was replaced:
// names when given, else none (the old ones named other classes).
func headClassNames(m *graph.Model, names []string) error {
	if names == nil {
		data.DeleteMetadata(m, data.MetaClassNames)
		return nil
	}
	for i, n := range names {
		if n == "" {
			return &usageError{fmt.Errorf("invalid --class-names: name %d is empty", i)}
		}
	}
	return data.SetMetadata(m, names, nil)
}
