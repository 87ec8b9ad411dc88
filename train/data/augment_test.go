package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// The fixtures of models/make_augment.py (torchvision 0.29 on PIL images).
var augmentDir = filepath.Join("..", "..", "models", "augment")

type augmentFiles struct {
	Classes []string `json:"classes"`
	Files   []string `json:"files"`
	Cases   []struct {
		Name    string  `json:"name"`
		Size    [2]int  `json:"size"` // height, width
		CropPct float64 `json:"crop_pct"`
	} `json:"cases"`
}

func readAugment(t *testing.T, name string) map[string]npz.Array {
	t.Helper()
	ref, err := npz.Read(filepath.Join(augmentDir, name))
	if err != nil {
		t.Fatalf("%v (regenerate with .venv/bin/python models/make_augment.py)", err)
	}
	return ref
}

func augmentMeta(t *testing.T) augmentFiles {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(augmentDir, "files.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta augmentFiles
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	if len(meta.Files) == 0 || len(meta.Cases) == 0 {
		t.Fatal("files.json lists no files or no cases")
	}
	return meta
}

// rgbOf decodes the fixture image file (relative to the folder) into its
// three channels.
func rgbOf(t *testing.T, file string) []plane {
	t.Helper()
	img, err := decodeImage(filepath.Join(augmentDir, "folder", filepath.FromSlash(file)), [2]int{}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := rgbPlanes(img)
	return p[:]
}

// bytesDiff returns the largest difference between planes ps and want,
// uint8 [3, H, W], and an error when the shapes differ.
func bytesDiff(ps []plane, want npz.Array) (int, error) {
	w8, ok := want.Data.([]uint8)
	if !ok || len(want.Shape) != 3 || want.Shape[0] != len(ps) {
		return 0, fmt.Errorf("reference of shape %v (%T)", want.Shape, want.Data)
	}
	h, w := want.Shape[1], want.Shape[2]
	worst := 0
	for c, p := range ps {
		if p.h != h || p.w != w {
			return 0, fmt.Errorf("channel %d is %dx%d, torchvision's %dx%d", c, p.h, p.w, h, w)
		}
		for k, v := range p.pix {
			worst = max(worst, int(math.Abs(float64(int(v)-int(w8[c*h*w+k])))))
		}
	}
	return worst, nil
}

// TestEvalTransformMatchesTorchvision: Resize(int(size/crop_pct)) +
// CenterCrop(size) + Normalize on PNG images of mixed sizes, against
// torchvision's (timm's create_transform, which make_augment.py checks
// equal to torchvision's for square sizes; ResizeKeepRatio for the others),
// within one grey level (1/255 before normalization).
func TestEvalTransformMatchesTorchvision(t *testing.T) {
	meta := augmentMeta(t)
	ref := readAugment(t, "eval.npz")
	for _, tc := range meta.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			want := ref["eval_"+tc.Name]
			wx, ok := want.Data.([]float32)
			if !ok {
				t.Fatalf("eval_%s: %T", tc.Name, want.Data)
			}
			ds, err := Open(filepath.Join(augmentDir, "folder"), Options{ImageSize: tc.Size, CropPct: tc.CropPct})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.(*ImageFolder).Classes(), meta.Classes) {
				t.Errorf("classes %v, torchvision's %v", ds.(*ImageFolder).Classes(), meta.Classes)
			}
			if got := append([]int{ds.Len()}, exampleShape(ds)...); !slices.Equal(got, want.Shape) {
				t.Fatalf("shape %v, torchvision's %v", got, want.Shape)
			}
			x, labels, _ := readAll(t, ds)
			if !slices.Equal(labels, ref["y"].Data.([]int64)) {
				t.Errorf("labels %v, torchvision's %v", labels, ref["y"].Data)
			}
			xs := x.([]float32)
			plane := tc.Size[0] * tc.Size[1]
			worst := 0.0 // in grey levels
			for k, v := range xs {
				c := (k / plane) % 3
				worst = max(worst, math.Abs(float64(v)-float64(wx[k]))*imagenetStd[c]*255)
			}
			t.Logf("largest difference: %.3g grey levels over %d values", worst, len(xs))
			if worst > 1+1e-4 {
				t.Errorf("largest difference %.4g grey levels, want at most 1", worst)
			}
		})
	}
}

// TestResizedCropMatchesTorchvision: given RandomResizedCrop's box, the
// crop and its bilinear resize equal torchvision's resized_crop within one
// grey level.
func TestResizedCropMatchesTorchvision(t *testing.T) {
	meta := augmentMeta(t)
	ref := readAugment(t, "crop.npz")
	worst := 0
	for k, file := range meta.Files {
		box, ok := ref[fmt.Sprintf("box_%d", k)].Data.([]int64)
		want := ref[fmt.Sprintf("crop_%d", k)]
		if !ok || len(box) != 4 {
			t.Fatalf("box_%d missing", k)
		}
		ps := rgbOf(t, file)
		for c := range ps {
			ps[c] = resizedCrop(ps[c], int(box[0]), int(box[1]), int(box[2]), int(box[3]), want.Shape[2], want.Shape[1], Bilinear)
		}
		d, err := bytesDiff(ps, want)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		worst = max(worst, d)
	}
	t.Logf("largest difference over %d crops: %d grey levels", len(meta.Files), worst)
	if worst > 1 {
		t.Errorf("largest difference %d grey levels, want at most 1", worst)
	}
}

// TestRandomResizedCropFallback: when no attempt fits, the box is
// torchvision's fallback center crop (its get_params under a scale no
// attempt can meet).
func TestRandomResizedCropFallback(t *testing.T) {
	ref := readAugment(t, "crop.npz")
	rows := ref["fallback"]
	v := rows.Data.([]float64)
	if len(rows.Shape) != 2 || rows.Shape[1] != 8 || rows.Shape[0] == 0 {
		t.Fatalf("fallback of shape %v", rows.Shape)
	}
	for r := range rows.Shape[0] {
		row := v[r*8 : (r+1)*8]
		h, w := int(row[0]), int(row[1])
		ratio := [2]float64{row[2], row[3]}
		t.Run(fmt.Sprintf("%dx%d_%.3g_%.3g", h, w, ratio[0], ratio[1]), func(t *testing.T) {
			top, left, bh, bw := rrcParams(newAugRand(int64(r), 0, 0), w, h, [2]float64{50, 60}, ratio)
			got := []int{top, left, bh, bw}
			want := []int{int(row[4]), int(row[5]), int(row[6]), int(row[7])}
			if !slices.Equal(got, want) {
				t.Errorf("box (top, left, h, w) %v, torchvision's %v", got, want)
			}
		})
	}
}

// scripted is an rrcSource that gives set numbers: uniform returns lo +
// u*(hi-lo) for the next u of us, intIn the next of ints.
type scripted struct {
	us   []float64
	ints []int
}

func (s *scripted) uniform(lo, hi float64) float64 {
	u := s.us[0]
	s.us = s.us[1:]
	return lo + u*(hi-lo)
}

func (s *scripted) intIn(lo, hi int) int {
	v := s.ints[0]
	s.ints = s.ints[1:]
	if v < lo || v >= hi {
		panic(fmt.Sprintf("scripted %d outside [%d, %d)", v, lo, hi))
	}
	return v
}

// TestRandomResizedCropAttempts: the attempt logic of get_params with set
// draws: a box too large for the image is rejected and the next attempt
// taken; a box that fits is placed with randint(0, H-h+1) and
// randint(0, W-w+1); ten failures give the fallback.
func TestRandomResizedCropAttempts(t *testing.T) {
	// 10x20 image, area 200, scale (0.5, 1), ratio (1/2, 2).
	scale, ratio := [2]float64{0.5, 1}, [2]float64{0.5, 2}
	t.Run("second attempt", func(t *testing.T) {
		// First: area 200, aspect 2 -> w 20, h 10: fits. Make it fail
		// instead with aspect 1/2 on the full area: w 10, h 20 > 10.
		// Second: area 100 (u 0), aspect 1 (u 0.5): w 10, h 10.
		s := &scripted{us: []float64{1, 0, 0, 0.5}, ints: []int{0, 7}}
		top, left, h, w := rrcParams(s, 20, 10, scale, ratio)
		if got := [4]int{top, left, h, w}; got != [4]int{0, 7, 10, 10} {
			t.Errorf("box %v, want [0 7 10 10]", got)
		}
	})
	t.Run("all attempts fail", func(t *testing.T) {
		var us []float64
		for range 10 {
			us = append(us, 1, 0) // w 10, h 20: too tall
		}
		s := &scripted{us: us}
		top, left, h, w := rrcParams(s, 20, 10, scale, ratio)
		// in_ratio 2 is within (1/2, 2): the whole image.
		if got := [4]int{top, left, h, w}; got != [4]int{0, 0, 10, 20} {
			t.Errorf("box %v, want the whole image [0 0 10 20]", got)
		}
		if len(s.us) != 0 {
			t.Errorf("%d draws left, want all 20 used", len(s.us))
		}
	})
}

// TestAugmentDraws: the boxes stay in bounds, and the draws depend only on
// the seed, the epoch and the index.
func TestAugmentDraws(t *testing.T) {
	a := &Augment{Scale: [2]float64{0.08, 1}, HFlip: 0.5, ColorJitter: 0.4, Seed: 3}
	flips, fallbacks, n := 0, 0, 0
	for epoch := range 4 {
		for i := range 200 {
			w, h := 5+i%37, 3+(i*7)%41
			d := a.draw(epoch, i, w, h)
			if d != a.draw(epoch, i, w, h) {
				t.Fatalf("epoch %d index %d: two draws differ", epoch, i)
			}
			if d.h < 1 || d.w < 1 || d.top < 0 || d.left < 0 || d.top+d.h > h || d.left+d.w > w {
				t.Fatalf("epoch %d index %d: box %+v outside %dx%d", epoch, i, d, h, w)
			}
			if d.w*d.h > w*h || d.h == h && d.w == w {
				fallbacks++
			}
			lo, hi := 0.6, 1.4
			for _, f := range []float64{d.bright, d.cont, d.satu} {
				if f < lo || f >= hi {
					t.Fatalf("jitter factor %v outside [%v, %v)", f, lo, hi)
				}
			}
			o := slices.Clone(d.order[:])
			slices.Sort(o)
			if !slices.Equal(o, []int{0, 1, 2, 3}) {
				t.Fatalf("jitter order %v is not a permutation", d.order)
			}
			if d.flip {
				flips++
			}
			n++
		}
	}
	if flips < n/2-60 || flips > n/2+60 {
		t.Errorf("%d flips in %d draws at p 0.5", flips, n)
	}
	if fallbacks == n {
		t.Errorf("every box is the whole image")
	}
	// On a large image the first attempts fit: the box's area share and
	// aspect ratio are within scale and ratio, up to the rounding of its
	// sides to whole pixels.
	for i := range 300 {
		d := a.draw(0, i, 400, 300)
		share := float64(d.w*d.h) / (400 * 300)
		aspect := float64(d.w) / float64(d.h)
		loW, hiW := math.Sqrt(0.08*400*300*0.75)-0.5, math.Sqrt(400*300*4.0/3)+0.5 // widths the bounds allow
		if share < 0.08*0.95 || share > 1.0 || aspect < 0.75*0.9 || aspect > 4.0/3/0.9 || float64(d.w) < loW || float64(d.w) > hiW {
			t.Errorf("index %d: box %dx%d (share %.3f, aspect %.3f) outside scale (0.08, 1) and ratio (3/4, 4/3)", i, d.h, d.w, share, aspect)
		}
	}
	same := 0
	for i := range 50 {
		if a.draw(0, i, 30, 30) == a.draw(1, i, 30, 30) {
			same++
		}
		b := *a
		b.Seed++
		if a.draw(0, i, 30, 30) == b.draw(0, i, 30, 30) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 100 draws did not change with the epoch or the seed", same)
	}
}

// TestColorJitterMatchesTorchvision: brightness, contrast and saturation
// applied in ColorJitter's drawn order with its drawn factors equal
// torchvision's on PIL images within one grey level.
func TestColorJitterMatchesTorchvision(t *testing.T) {
	meta := augmentMeta(t)
	ref := readAugment(t, "jitter.npz")
	worst := 0
	for k, file := range meta.Files {
		order := ref[fmt.Sprintf("order_%d", k)].Data.([]int64)
		f := ref[fmt.Sprintf("factors_%d", k)].Data.([]float64)
		d := draws{jitter: true, bright: f[0], cont: f[1], satu: f[2]}
		for j, o := range order {
			d.order[j] = int(o)
		}
		ps := rgbOf(t, file)
		d.applyJitter(ps)
		diff, err := bytesDiff(ps, ref[fmt.Sprintf("jitter_%d", k)])
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		worst = max(worst, diff)
	}
	t.Logf("largest difference over %d images: %d grey levels", len(meta.Files), worst)
	if worst > 1 {
		t.Errorf("largest difference %d grey levels, want at most 1", worst)
	}
}

// TestAugmentThroughLoader: a Loader gives each epoch's augmentation, the
// same from a new Loader (a resumed run) and from the example's own draws,
// and another one at another epoch; Options.Augment without a size for
// the crop is refused.
func TestAugmentThroughLoader(t *testing.T) {
	root := filepath.Join(augmentDir, "folder")
	opts := Options{ImageSize: [2]int{7, 7}, CropPct: 1, Augment: &Augment{Scale: [2]float64{0.25, 1}, HFlip: 0.5, ColorJitter: 0.4, Seed: 9}}
	open := func() *Loader {
		ds, err := Open(root, opts)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLoader(ds, 5, true, 1)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	batch := func(l *Loader, epoch, i int) []float32 {
		b, err := l.Batch(epoch, i)
		if err != nil {
			t.Fatal(err)
		}
		return b.Inputs["x"].Data().([]float32)
	}
	l1, l2 := open(), open()
	_ = batch(l1, 0, 0) // the first loader has read epoch 0
	if !slices.Equal(batch(l1, 2, 1), batch(l2, 2, 1)) {
		t.Error("epoch 2, batch 1: a new Loader gives other examples")
	}
	if slices.Equal(batch(l1, 2, 1), batch(l1, 3, 1)) {
		t.Error("epochs 2 and 3 give the same batch")
	}
	// Without shuffling, batch 0 of an epoch is examples 0..4 augmented
	// for that epoch.
	ds, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, 5, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := batch(l, 4, 0)
	f := ds.(*ImageFolder)
	for i := range 5 {
		x := make([]float32, 3*7*7)
		if _, err := f.readEpoch(4, i, []any{x}, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i*len(x):(i+1)*len(x)], x) {
			t.Errorf("example %d of epoch 4 differs from its own draws", i)
		}
	}
	bad := opts
	bad.ImageSize = [2]int{}
	bad.CropPct = 0
	if _, err := Open(root, bad); err == nil {
		t.Error("RandomResizedCrop without an image size: no error")
	}
}

// TestAugmentOptionErrors: values torchvision refuses, or options that do
// not apply, are *OptionErrors naming the option.
func TestAugmentOptionErrors(t *testing.T) {
	root := filepath.Join(augmentDir, "folder")
	size := [2]int{7, 7}
	tests := []struct {
		name, spec, option string
		opts               Options
	}{
		{"negative crop", root, "CropPct", Options{ImageSize: size, CropPct: -1}},
		{"NaN crop", root, "CropPct", Options{ImageSize: size, CropPct: math.NaN()}},
		{"crop without size", root, "CropPct", Options{CropPct: 1}},
		{"scale zero", root, "Scale", Options{ImageSize: size, Augment: &Augment{Scale: [2]float64{0, 1}}}},
		{"scale reversed", root, "Scale", Options{ImageSize: size, Augment: &Augment{Scale: [2]float64{0.9, 0.1}}}},
		{"ratio reversed", root, "Ratio", Options{ImageSize: size, Augment: &Augment{Scale: [2]float64{0.1, 1}, Ratio: [2]float64{2, 1}}}},
		{"ratio without scale", root, "Ratio", Options{ImageSize: size, Augment: &Augment{Ratio: [2]float64{1, 2}}}},
		{"scale without size", root, "Scale", Options{Augment: &Augment{Scale: [2]float64{0.1, 1}}}},
		{"flip over 1", root, "HFlip", Options{Augment: &Augment{HFlip: 1.5}}},
		{"negative jitter", root, "ColorJitter", Options{Augment: &Augment{ColorJitter: -0.1}}},
		{"npz crop", filepath.Join("..", "..", "models", "mnist_0to4_test.npz"), "CropPct", Options{CropPct: 1}},
		{"npz augment", filepath.Join("..", "..", "models", "mnist_0to4_test.npz"), "Augment", Options{Augment: &Augment{HFlip: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.spec, tc.opts)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != tc.option {
				t.Errorf("error %v, want an *OptionError for %s", err, tc.option)
			}
		})
	}
}
