package data

import (
	"math"
)

// The geometric and color transforms of image folders, on 8-bit channels
// as torchvision applies its transforms to PIL images: Resize and
// CenterCrop for evaluation (timm's crop_pct), RandomResizedCrop,
// RandomHorizontalFlip and ColorJitter for training (augment.go draws their
// parameters).

// resizeShorter returns the size (width, height) torchvision's Resize(s)
// gives an image of w x h: the shorter side becomes s, the longer
// int(s * long / short).
func resizeShorter(w, h, s int) (int, int) {
	if w <= h {
		return s, int(float64(s*h) / float64(w))
	}
	return int(float64(s*w) / float64(h)), s
}

// keepRatio returns the size (width, height) timm's ResizeKeepRatio gives
// an image of w x h for a target of tw x th: both sides scaled by the
// smaller of w/tw and h/th, rounded half to even as Python's round.
func keepRatio(w, h, tw, th int) (int, int) {
	ratio := min(float64(w)/float64(tw), float64(h)/float64(th))
	return int(math.RoundToEven(float64(w) / ratio)), int(math.RoundToEven(float64(h) / ratio))
}

// evalSize returns the size (width, height) an image of w x h is resized to
// before the center crop to tw x th with crop percentage pct (pct > 0), as
// timm's eval transform: torchvision's Resize(int(size/pct)) on the
// shorter side for a square size, ResizeKeepRatio to (int(th/pct),
// int(tw/pct)) otherwise.
func evalSize(w, h, tw, th int, pct float64) (int, int) {
	sw, sh := int(math.Floor(float64(tw)/pct)), int(math.Floor(float64(th)/pct))
	if sw == sh {
		return resizeShorter(w, h, sw)
	}
	return keepRatio(w, h, sw, sh)
}

// centerCropBox returns the top-left corner of torchvision's CenterCrop of
// th x tw in an image of h x w: int(round((h - th) / 2.0)) and the same
// across, rounded half to even as Python's round. When the crop is larger
// than the image, torchvision first pads it with zeros, ((tw - w) // 2 on
// the left, (th - h) // 2 on top); the box is then at minus that padding.
func centerCropBox(w, h, tw, th int) (top, left int) {
	pl, pt := 0, 0
	if tw > w {
		pl = (tw - w) / 2
	}
	if th > h {
		pt = (th - h) / 2
	}
	pw, ph := max(w, tw), max(h, th)
	top = int(math.RoundToEven(float64(ph-th)/2)) - pt
	left = int(math.RoundToEven(float64(pw-tw)/2)) - pl
	return top, left
}

// crop returns the th x tw window of p whose top-left corner is (top,
// left); pixels outside p are 0 (PIL's crop, and torchvision's zero
// padding).
func crop(p plane, top, left, tw, th int) plane {
	if top == 0 && left == 0 && tw == p.w && th == p.h {
		return p
	}
	out := plane{tw, th, make([]uint8, tw*th)}
	for y := range th {
		sy := top + y
		if sy < 0 || sy >= p.h {
			continue
		}
		for x := range tw {
			if sx := left + x; sx >= 0 && sx < p.w {
				out.pix[y*tw+x] = p.pix[sy*p.w+sx]
			}
		}
	}
	return out
}

// evalTransform applies the evaluation transform to p: with pct > 0, the
// resize of evalSize then CenterCrop(th, tw); with pct 0, Resize((th, tw)),
// a stretch to the size; resizes with filter in.
func evalTransform(p plane, tw, th int, pct float64, in Interpolation) plane {
	if pct == 0 {
		if p.w != tw || p.h != th {
			p = resizeWith(p, tw, th, in)
		}
		return p
	}
	rw, rh := evalSize(p.w, p.h, tw, th, pct)
	if rw != p.w || rh != p.h {
		p = resizeWith(p, rw, rh, in)
	}
	top, left := centerCropBox(p.w, p.h, tw, th)
	return crop(p, top, left, tw, th)
}

// resizedCrop is torchvision's resized_crop on a PIL image: the box (top,
// left, height h, width w) of p, resized to tw x th with PIL's filter in.
func resizedCrop(p plane, top, left, h, w, tw, th int, in Interpolation) plane {
	p = crop(p, top, left, w, h)
	if p.w != tw || p.h != th {
		p = resizeWith(p, tw, th, in)
	}
	return p
}

// hflip mirrors p left to right.
func hflip(p plane) plane {
	out := plane{p.w, p.h, make([]uint8, len(p.pix))}
	for y := range p.h {
		row, o := p.pix[y*p.w:(y+1)*p.w], out.pix[y*p.w:(y+1)*p.w]
		for x, v := range row {
			o[p.w-1-x] = v
		}
	}
	return out
}

// blend is Pillow's Image.blend(im1, im2, alpha) on 8-bit values, as its
// ImagingBlend computes it: in1 + alpha*(in2 - in1) in single precision,
// truncated to a byte and clipped. deg gives im1's value at pixel k.
func blend(p plane, deg func(k int) uint8, alpha float32) plane {
	out := plane{p.w, p.h, make([]uint8, len(p.pix))}
	for k, v := range p.pix {
		d := deg(k)
		// The conversions round each operation to float32, as C does
		// (no fused multiply-add).
		t := float32(float32(d) + float32(alpha*float32(int(v)-int(d))))
		switch {
		case t <= 0:
			out.pix[k] = 0
		case t >= 255:
			out.pix[k] = 255
		default:
			out.pix[k] = uint8(t)
		}
	}
	return out
}

// grayOf returns the "L" conversion of the channels (PIL's luma for RGB,
// the channel itself for one).
func grayOf(ps []plane) plane {
	if len(ps) == 1 {
		return ps[0]
	}
	return luma([3]plane{ps[0], ps[1], ps[2]})
}

// adjustBrightness is torchvision's adjust_brightness on a PIL image:
// ImageEnhance.Brightness, a blend with black.
func adjustBrightness(ps []plane, f float64) {
	for c := range ps {
		ps[c] = blend(ps[c], func(int) uint8 { return 0 }, float32(f))
	}
}

// adjustContrast is torchvision's adjust_contrast on a PIL image:
// ImageEnhance.Contrast, a blend with the gray level of the image's mean
// luma, int(mean + 0.5).
func adjustContrast(ps []plane, f float64) {
	g := grayOf(ps)
	sum := 0
	for _, v := range g.pix {
		sum += int(v)
	}
	mean := uint8(int(float64(sum)/float64(len(g.pix)) + 0.5))
	for c := range ps {
		ps[c] = blend(ps[c], func(int) uint8 { return mean }, float32(f))
	}
}

// adjustSaturation is torchvision's adjust_saturation on a PIL image:
// ImageEnhance.Color, a blend with the image's luma.
func adjustSaturation(ps []plane, f float64) {
	g := grayOf(ps)
	for c := range ps {
		ps[c] = blend(ps[c], func(k int) uint8 { return g.pix[k] }, float32(f))
	}
}
