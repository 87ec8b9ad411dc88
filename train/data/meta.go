package data

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/onnxtune/onnxtune/graph"
)

// The keys of an exported model's metadata_props that say what it is: the
// class names and the evaluation preprocessing, for whoever serves it.
const (
	// MetaClassNames holds the class names as a JSON array of strings,
	// the name of output class k at index k.
	MetaClassNames = "onnxtune.class_names"
	// MetaPreprocess holds the evaluation preprocessing as a JSON object,
	// a Preprocess.
	MetaPreprocess = "onnxtune.preprocess"
)

// Preprocess is the evaluation preprocessing of images, as MetaPreprocess
// stores it: Resize(int(size/crop_pct)) of the shorter side then
// CenterCrop(size) (resize "center_crop"), or a stretch to the size (resize
// "stretch", crop_pct 0), with PIL's antialiased bilinear filter, then
// ToTensor and Normalize(mean, std).
type Preprocess struct {
	Size          [2]int    `json:"size"` // height, width
	Resize        string    `json:"resize"`
	CropPct       float64   `json:"crop_pct"`
	Interpolation string    `json:"interpolation"`
	Mean          []float64 `json:"mean"`
	Std           []float64 `json:"std"`
	Grayscale     bool      `json:"grayscale,omitempty"`
}

// Preprocess returns the evaluation preprocessing f applies: its size,
// crop percentage (1 when images are read at their own size, all of the
// size: a center crop that keeps them) and normalization.
func (f *ImageFolder) Preprocess() Preprocess {
	p := Preprocess{Size: [2]int{f.h, f.w}, Resize: "center_crop", CropPct: 1, Interpolation: string(f.interp.orDefault()),
		Mean: slices.Clone(f.mean), Std: slices.Clone(f.std), Grayscale: f.c == 1}
	if f.resize {
		p.CropPct = f.cropPct
		if f.cropPct == 0 {
			p.Resize = "stretch"
		}
	}
	return p
}

// Options returns the options that apply p to an image folder.
func (p Preprocess) Options() Options {
	return Options{ImageSize: p.Size, CropPct: p.CropPct, Mean: slices.Clone(p.Mean), Std: slices.Clone(p.Std), Grayscale: p.Grayscale}
}

// Describe returns the class names and the evaluation preprocessing of an
// image folder ds (or a subset of one, or one read without labels); ok is
// false for other data.
func Describe(ds Dataset) (classes []string, pre Preprocess, ok bool) {
	for {
		switch d := ds.(type) {
		case *subset:
			ds = d.ds
		case *unlabeled:
			ds = d.ds
		case *ImageFolder:
			return d.Classes(), d.Preprocess(), true
		default:
			return nil, Preprocess{}, false
		}
	}
}

// RenamedFolders returns the class folders of an image folder data set
// (also selected or without labels) whose names match none of the class
// names that label it, so that the names label the sorted folders by
// position (nil otherwise): a user may want to know.
func RenamedFolders(ds Dataset) []string {
	for {
		switch d := ds.(type) {
		case *subset:
			ds = d.ds
		case *unlabeled:
			ds = d.ds
		case *ImageFolder:
			return d.Renamed()
		default:
			return nil
		}
	}
}

// SetMetadata writes class names (when not nil) and the preprocessing
// (when not nil) into m's metadata_props under MetaClassNames and
// MetaPreprocess, replacing earlier values and keeping other keys.
func SetMetadata(m *graph.Model, classes []string, pre *Preprocess) error {
	if m == nil {
		return errNoModel
	}
	if classes != nil {
		b, err := json.Marshal(classes)
		if err != nil {
			return err
		}
		setMeta(m, MetaClassNames, string(b))
	}
	if pre != nil {
		b, err := json.Marshal(pre)
		if err != nil {
			return fmt.Errorf("data: preprocessing: %w", err)
		}
		setMeta(m, MetaPreprocess, string(b))
	}
	return nil
}

// DeleteMetadata removes key from m's metadata_props (nothing for a nil
// model).
func DeleteMetadata(m *graph.Model, key string) {
	if m == nil {
		return
	}
	m.Metadata = slices.DeleteFunc(m.Metadata, func(p graph.StringPair) bool { return p.Key == key })
}

func setMeta(m *graph.Model, key, value string) {
	for i := range m.Metadata {
		if m.Metadata[i].Key == key {
			m.Metadata[i].Value = value
			return
		}
	}
	m.Metadata = append(m.Metadata, graph.StringPair{Key: key, Value: value})
}

// ReadMetadata returns the class names and the preprocessing m's
// metadata_props hold (nil when absent). A value that does not parse, or
// says something impossible, is an error naming the key.
func ReadMetadata(m *graph.Model) (classes []string, pre *Preprocess, err error) {
	if m == nil {
		return nil, nil, errNoModel
	}
	if v, ok := m.MetadataValue(MetaClassNames); ok {
		if err := json.Unmarshal([]byte(v), &classes); err != nil {
			return nil, nil, fmt.Errorf("data: the model's metadata %s: %w", MetaClassNames, err)
		}
	}
	if v, ok := m.MetadataValue(MetaPreprocess); ok {
		var p Preprocess
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, nil, fmt.Errorf("data: the model's metadata %s: %w", MetaPreprocess, err)
		}
		bad := p.Size[0] < 1 || p.Size[1] < 1 || math.IsNaN(p.CropPct) || p.CropPct < 0 ||
			(p.Resize != "center_crop" && p.Resize != "stretch") || (p.Resize == "stretch") != (p.CropPct == 0) ||
			!slices.Contains(Interpolations(), Interpolation(p.Interpolation))
		if bad {
			return nil, nil, fmt.Errorf("data: the model's metadata %s: %s is not a preprocessing onnxtune applies", MetaPreprocess, v)
		}
		pre = &p
	}
	return classes, pre, nil
}
