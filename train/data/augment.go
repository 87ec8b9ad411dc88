package data

import (
	"fmt"
	"math"
	"strconv"
)

// Augment is the random augmentation of training images, with
// torchvision's semantics on PIL images, applied in timm's order:
// RandomResizedCrop (when Scale is set), RandomHorizontalFlip,
// ColorJitter, then ToTensor and Normalize. The draws for an example
// depend only on Seed, the epoch and the example's index in the image
// folder: a run resumed at epoch e sees the images an uninterrupted run
// sees, whatever the order or the goroutine that reads them.
type Augment struct {
	// Scale and Ratio are RandomResizedCrop's: the share of the image's
	// area and the aspect ratio (width / height) of the crop, drawn
	// uniformly (the ratio's logarithm uniformly), ten attempts, then the
	// fallback center crop; the crop is resized to Options.ImageSize
	// with PIL's bilinear filter. Scale zero: no RandomResizedCrop (the
	// evaluation transform of Options.ImageSize and Options.CropPct
	// applies). Ratio zero with Scale set: (3/4, 4/3).
	Scale, Ratio [2]float64
	// HFlip is the probability of a horizontal flip (0 to 1).
	HFlip float64
	// ColorJitter is torchvision's ColorJitter(brightness=S, contrast=S,
	// saturation=S) as timm's color_jitter sets it: each factor drawn in
	// [max(0, 1-S), 1+S], the three applied in a random order. Zero: none.
	ColorJitter float64
	// Seed seeds the draws.
	Seed int64
}

// DefaultRatio is RandomResizedCrop's default range of aspect ratios.
var DefaultRatio = [2]float64{3.0 / 4, 4.0 / 3}

// DefaultRatioText is DefaultRatio as Augment.String writes it.
func DefaultRatioText() string {
	return strconv.FormatFloat(DefaultRatio[0], 'g', -1, 64) + "," + strconv.FormatFloat(DefaultRatio[1], 'g', -1, 64)
}

// check returns an *OptionError for values torchvision refuses or that
// make no sense.
func (a *Augment) check() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if a.Scale != [2]float64{} {
		if s := a.Scale; !finite(s[0]) || !finite(s[1]) || s[0] <= 0 || s[0] > s[1] {
			return &OptionError{Option: "Scale", Err: fmt.Errorf("scale %v,%v: want 0 < MIN <= MAX", s[0], s[1])}
		}
	}
	if r := a.Ratio; r != [2]float64{} && (!finite(r[0]) || !finite(r[1]) || r[0] <= 0 || r[0] > r[1]) {
		return &OptionError{Option: "Ratio", Err: fmt.Errorf("ratio %v,%v: want 0 < MIN <= MAX", r[0], r[1])}
	}
	if a.Ratio != [2]float64{} && a.Scale == [2]float64{} {
		return &OptionError{Option: "Ratio", Err: fmt.Errorf("ratio is RandomResizedCrop's: set a scale as well")}
	}
	if !(a.HFlip >= 0 && a.HFlip <= 1) {
		return &OptionError{Option: "HFlip", Err: fmt.Errorf("horizontal flip probability %v: want 0 to 1", a.HFlip)}
	}
	if !(a.ColorJitter >= 0) || math.IsInf(a.ColorJitter, 1) {
		return &OptionError{Option: "ColorJitter", Err: fmt.Errorf("color jitter %v: want 0 or more", a.ColorJitter)}
	}
	return nil
}

// draws are the random parameters of one example's augmentation.
type draws struct {
	crop               bool // RandomResizedCrop's box
	top, left, h, w    int
	flip               bool
	jitter             bool
	order              [4]int  // ColorJitter's fn_idx: 0 brightness, 1 contrast, 2 saturation, 3 hue
	bright, cont, satu float64 // the factors
}

// augRand is the random source of one example: SplitMix64 seeded from the
// seed, the epoch and the index.
type augRand struct{ splitMix }

func newAugRand(seed int64, epoch, index int) *augRand {
	r := splitMix{uint64(seed)}
	r = splitMix{r.next() ^ uint64(epoch)*0xd1b54a32d192ed03}
	r = splitMix{r.next() ^ uint64(index)*0x8cb92ba72f3d8dd7}
	return &augRand{r}
}

// uniform returns a number in [lo, hi).
func (r *augRand) uniform(lo, hi float64) float64 {
	u := float64(r.next()>>11) / (1 << 53)
	return lo + u*(hi-lo)
}

// intIn returns an integer in [lo, hi), hi > lo (torch.randint's range).
func (r *augRand) intIn(lo, hi int) int { return lo + int(r.below(uint64(hi-lo))) }

// draw draws the augmentation of example index at epoch for an image of
// w x h pixels.
func (a *Augment) draw(epoch, index, w, h int) draws {
	r := newAugRand(a.Seed, epoch, index)
	var d draws
	if a.Scale != [2]float64{} {
		ratio := a.Ratio
		if ratio == [2]float64{} {
			ratio = DefaultRatio
		}
		d.crop = true
		d.top, d.left, d.h, d.w = rrcParams(r, w, h, a.Scale, ratio)
	}
	if a.HFlip > 0 {
		d.flip = r.uniform(0, 1) < a.HFlip
	}
	if s := a.ColorJitter; s > 0 {
		d.jitter = true
		d.order = [4]int{0, 1, 2, 3}
		for i := 3; i > 0; i-- { // torch.randperm(4)'s role
			j := int(r.below(uint64(i) + 1))
			d.order[i], d.order[j] = d.order[j], d.order[i]
		}
		lo, hi := max(0, 1-s), 1+s
		d.bright, d.cont, d.satu = r.uniform(lo, hi), r.uniform(lo, hi), r.uniform(lo, hi)
	}
	return d
}

// rrcSource gives RandomResizedCrop.get_params its random numbers.
type rrcSource interface {
	uniform(lo, hi float64) float64
	intIn(lo, hi int) int
}

// rrcParams is torchvision's RandomResizedCrop.get_params for an image of
// width x height: ten attempts of a target area (a uniform share in scale
// of the area) and an aspect ratio (exp of a uniform in log(ratio)); the
// first box that fits is placed uniformly; else the fallback, the center
// crop of the whole image clamped to the ratio range.
func rrcParams(r rrcSource, width, height int, scale, ratio [2]float64) (top, left, h, w int) {
	area := float64(height * width)
	logLo, logHi := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * r.uniform(scale[0], scale[1])
		aspect := math.Exp(r.uniform(logLo, logHi))
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= width && 0 < h && h <= height {
			top := r.intIn(0, height-h+1)
			left := r.intIn(0, width-w+1)
			return top, left, h, w
		}
	}
	inRatio := float64(width) / float64(height)
	switch {
	case inRatio < min(ratio[0], ratio[1]):
		w = width
		h = int(math.RoundToEven(float64(w) / min(ratio[0], ratio[1])))
	case inRatio > max(ratio[0], ratio[1]):
		h = height
		w = int(math.RoundToEven(float64(h) * max(ratio[0], ratio[1])))
	default:
		w, h = width, height
	}
	return (height - h) / 2, (width - w) / 2, h, w
}

// applyJitter applies ColorJitter's adjustments in d's order (hue is not drawn:
// timm's color_jitter leaves it at 0).
func (d *draws) applyJitter(ps []plane) {
	for _, fn := range d.order {
		switch fn {
		case 0:
			adjustBrightness(ps, d.bright)
		case 1:
			adjustContrast(ps, d.cont)
		case 2:
			adjustSaturation(ps, d.satu)
		}
	}
}

// String describes the settings as they take effect (a crop's ratio range
// is DefaultRatio when not set), as checkpoints record them.
func (a *Augment) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	ratio := a.Ratio
	if a.Scale != [2]float64{} && ratio == [2]float64{} {
		ratio = DefaultRatio
	}
	return fmt.Sprintf("scale=%s,%s ratio=%s,%s hflip=%s color_jitter=%s seed=%d",
		f(a.Scale[0]), f(a.Scale[1]), f(ratio[0]), f(ratio[1]), f(a.HFlip), f(a.ColorJitter), a.Seed)
}
