package data

import (
	"image"
	"image/color"
	"math"
)

// plane is one channel of an image, row-major bytes.
type plane struct {
	w, h int
	pix  []uint8
}

// rgbPlanes returns the red, green and blue channels of img as PIL's
// convert("RGB") gives them: alpha is dropped (not composited), 16-bit
// color samples keep their high byte and 16-bit gray ones are clipped to
// 255 (PIL's "I;16"), YCbCr is converted as libjpeg does (jpegRGB), CMYK
// as PIL converts it.
func rgbPlanes(img image.Image) [3]plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var p [3]plane
	for c := range p {
		p[c] = plane{w, h, make([]uint8, w*h)}
	}
	r, g, bl := p[0].pix, p[1].pix, p[2].pix
	switch m := img.(type) {
	case *image.YCbCr:
		if jpegRGB(m, r, g, bl) {
			break
		}
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				k := y*w + x
				r[k], g[k], bl[k] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				v := uint8(255) // big-endian: a high byte means at least 256
				if row[2*x] == 0 {
					v = row[2*x+1]
				}
				k := y*w + x
				r[k], g[k], bl[k] = v, v, v
			}
		}
	case *image.CMYK:
		// PIL's cmyk2rgb: (255-K) - C*(255-K)/255, the division rounded
		// as its MULDIV255.
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				nk := 255 - int32(row[4*x+3])
				k := y*w + x
				r[k], g[k], bl[k] = clamp8(nk-mulDiv255(int32(row[4*x]), nk)), clamp8(nk-mulDiv255(int32(row[4*x+1]), nk)), clamp8(nk-mulDiv255(int32(row[4*x+2]), nk))
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			copy(r[y*w:], row)
			copy(g[y*w:], row)
			copy(bl[y*w:], row)
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				k := y*w + x
				r[k], g[k], bl[k] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, i := range row {
				var c color.NRGBA // an index past the palette is black, as PIL has it
				if int(i) < len(pal) {
					c = pal[i]
				}
				k := y*w + x
				r[k], g[k], bl[k] = c.R, c.G, c.B
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				k := y*w + x
				r[k], g[k], bl[k] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	}
	return p
}

// mulDiv255 is a*b/255 rounded as PIL's MULDIV255.
func mulDiv255(a, b int32) int32 {
	t := a*b + 128
	return (t>>8 + t) >> 8
}

// luma converts red, green and blue planes to PIL's "L":
// (19595 R + 38470 G + 7471 B + 2^15) >> 16.
func luma(p [3]plane) plane {
	out := plane{p[0].w, p[0].h, make([]uint8, len(p[0].pix))}
	for k := range out.pix {
		out.pix[k] = uint8((uint32(p[0].pix[k])*19595 + uint32(p[1].pix[k])*38470 + uint32(p[2].pix[k])*7471 + 0x8000) >> 16)
	}
	return out
}

// grayPlane returns a gray image's only channel (its own pixels when the
// rows are contiguous).
func grayPlane(m *image.Gray) plane {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	if m.Stride == w {
		return plane{w, h, m.Pix[:w*h]}
	}
	out := plane{w, h, make([]uint8, w*h)}
	for y := range h {
		copy(out.pix[y*w:], m.Pix[y*m.Stride:y*m.Stride+w])
	}
	return out
}

// PIL's resampling arithmetic: coefficients in fixed point with 22
// fractional bits (Pillow's libImaging/Resample.c, PRECISION_BITS).
const precisionBits = 32 - 8 - 2

// resizeCoeffs are the weights of a one-dimensional resize: output pixel i
// is the sum over j < n[i] of k[i*ksize+j] * in[start[i]+j].
type resizeCoeffs struct {
	ksize    int
	start, n []int
	k        []int32
}

// Interpolation names a resize filter of PIL's Image.resize (what
// torchvision's InterpolationMode picks for PIL images).
type Interpolation string

// The filters: Bilinear (triangle, support 1; the default), Bicubic
// (Pillow's cubic with a = -0.5, support 2) and Nearest.
const (
	Bilinear Interpolation = "bilinear"
	Bicubic  Interpolation = "bicubic"
	Nearest  Interpolation = "nearest"
)

// Interpolations lists the filters.
func Interpolations() []Interpolation { return []Interpolation{Bilinear, Bicubic, Nearest} }

// orDefault returns i, or Bilinear for "".
func (i Interpolation) orDefault() Interpolation {
	if i == "" {
		return Bilinear
	}
	return i
}

// filter is one of Pillow's convolution filters: its support and its
// function (Resample.c's bilinear_filter and bicubic_filter).
type filter struct {
	support float64
	f       func(x float64) float64
}

var (
	bilinearFilter = filter{1, func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}}
	bicubicFilter = filter{2, func(x float64) float64 {
		const a = -0.5
		x = math.Abs(x)
		switch {
		case x < 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}}
)

// filterCoeffs computes PIL's coefficients for resizing inSize pixels to
// outSize with filter fl, widened by the scale when shrinking
// (antialiasing), as Pillow's precompute_coeffs and normalize_coeffs_8bpc
// do.
func filterCoeffs(inSize, outSize int, fl filter) resizeCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := fl.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	rc := resizeCoeffs{ksize: ksize, start: make([]int, outSize), n: make([]int, outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w[x] = fl.f((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		for x := range xmax {
			if ww != 0 {
				w[x] /= ww
			}
			v := w[x] * (1 << precisionBits)
			if v < 0 {
				rc.k[xx*ksize+x] = int32(-0.5 + v)
			} else {
				rc.k[xx*ksize+x] = int32(0.5 + v)
			}
		}
		rc.start[xx], rc.n[xx] = xmin, xmax
	}
	return rc
}

// clip8 rounds a fixed-point sum (which includes the half) to a byte.
func clip8(v int64) uint8 {
	v >>= precisionBits
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// resize resizes p to w x h as PIL's Image.resize((w, h), BILINEAR) does on
// an 8-bit image (see resizeWith).
func resize(p plane, w, h int) plane { return resizeWith(p, w, h, Bilinear) }

// resizeWith resizes p to w x h as PIL's Image.resize((w, h), filter)
// does on an 8-bit image: with a convolution filter two passes, each
// rounded to bytes, horizontal first unless the height shrinks by more
// than twice what the width shrinks (in pixels), when Pillow 13 (not 9.4)
// runs the vertical pass first (its ImagingResampleInner); Nearest picks
// the source pixel under each output pixel's center, as Pillow's affine
// nearest transform does.
func resizeWith(p plane, w, h int, in Interpolation) plane {
	if p.w == w && p.h == h {
		return p
	}
	fl := bilinearFilter
	switch in.orDefault() {
	case Nearest:
		return resizeNearest(p, w, h)
	case Bicubic:
		fl = bicubicFilter
	}
	if dh := p.h - h; dh > 0 && dh > (p.w-w)*2 {
		return resizeHorizontal(resizeVertical(p, h, fl), w, fl)
	}
	return resizeVertical(resizeHorizontal(p, w, fl), h, fl)
}

// nearestIndex returns, for each of out pixels, the source pixel of a
// nearest resize from in pixels: Pillow's ImagingScaleAffine, which
// accumulates the position from half a step on and truncates it.
func nearestIndex(in, out int) []int {
	step := float64(in) / float64(out)
	idx := make([]int, out)
	pos := step * 0.5
	for i := range idx {
		idx[i] = min(int(pos), in-1)
		pos += step
	}
	return idx
}

// resizeNearest resizes p to w x h with the nearest filter.
func resizeNearest(p plane, w, h int) plane {
	xs, ys := nearestIndex(p.w, w), nearestIndex(p.h, h)
	out := plane{w, h, make([]uint8, w*h)}
	for y, sy := range ys {
		row := p.pix[sy*p.w : (sy+1)*p.w]
		for x, sx := range xs {
			out.pix[y*w+x] = row[sx]
		}
	}
	return out
}

// resizeHorizontal resizes the rows of p to w pixels.
func resizeHorizontal(p plane, w int, fl filter) plane {
	if p.w == w {
		return p
	}
	rc := filterCoeffs(p.w, w, fl)
	out := plane{w, p.h, make([]uint8, w*p.h)}
	for y := range p.h {
		row := p.pix[y*p.w : (y+1)*p.w]
		for xx := range w {
			k := rc.k[xx*rc.ksize:]
			ss := int64(1) << (precisionBits - 1)
			for j, v := range row[rc.start[xx] : rc.start[xx]+rc.n[xx]] {
				ss += int64(v) * int64(k[j])
			}
			out.pix[y*w+xx] = clip8(ss)
		}
	}
	return out
}

// resizeVertical resizes the columns of p to h pixels.
func resizeVertical(p plane, h int, fl filter) plane {
	if p.h == h {
		return p
	}
	rc := filterCoeffs(p.h, h, fl)
	out := plane{p.w, h, make([]uint8, p.w*h)}
	for yy := range h {
		k := rc.k[yy*rc.ksize:]
		y0 := rc.start[yy]
		for x := range p.w {
			ss := int64(1) << (precisionBits - 1)
			for j := range rc.n[yy] {
				ss += int64(p.pix[(y0+j)*p.w+x]) * int64(k[j])
			}
			out.pix[yy*p.w+x] = clip8(ss)
		}
	}
	return out
}
