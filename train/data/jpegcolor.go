package data

import "image"

// libjpeg-turbo's YCbCr -> RGB conversion (jdcolor.c, build_ycc_rgb_table):
// fixed point with 16 fractional bits, the red and blue offsets rounded
// in the tables, green's sum rounded once (the half is in cbG).
type yccTables struct {
	crR, cbB, crG, cbG [256]int32
}

var ycc = newYCCTables()

func newYCCTables() *yccTables {
	const scale = 1 << 16
	fix := func(x float64) int32 { return int32(x*scale + 0.5) }
	t := new(yccTables)
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + scale/2) >> 16
		t.cbB[i] = (fix(1.77200)*x + scale/2) >> 16
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + scale/2
	}
	return t
}

// clamp8 limits v to 0..255.
func clamp8(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// chromaFactors returns the horizontal and vertical subsampling of the
// chroma planes of a YCbCr image.
func chromaFactors(r image.YCbCrSubsampleRatio) (hs, vs int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 1, 1, true
	case image.YCbCrSubsampleRatio422:
		return 2, 1, true
	case image.YCbCrSubsampleRatio420:
		return 2, 2, true
	case image.YCbCrSubsampleRatio440:
		return 1, 2, true
	case image.YCbCrSubsampleRatio411:
		return 4, 1, true
	case image.YCbCrSubsampleRatio410:
		return 4, 2, true
	}
	return 0, 0, false
}

// upsampler enlarges one chroma plane of a JPEG to full size, a row at a
// time, as libjpeg-turbo's default ("fancy") upsampling does (jdsample.c):
// 4:2:2, 4:4:0 and 4:2:0 with a triangle filter, 3/4 of the nearer
// sample and 1/4 of the next, rounded half up and half down at alternate
// pixels; the first and last sample row and column (of the downsampled
// size, ceil(width/hs) x ceil(height/vs)) repeated beyond the image.
// libjpeg replicates samples when the chroma is at most 2 columns wide for
// 4:2:x, and for 4:1:1 and 4:1:0 always; so does the upsampler then.
type upsampler struct {
	pix            []uint8 // the plane as image/jpeg decodes it
	stride         int
	w              int // output width
	cw, ch         int // the downsampled size
	hs, vs         int
	fancyH, fancyV bool
	sums           []int32 // 3*nearer + further row, per chroma column
}

func newUpsampler(pix []uint8, stride, w, h, hs, vs int) *upsampler {
	u := &upsampler{pix: pix, stride: stride, w: w, cw: (w + hs - 1) / hs, ch: (h + vs - 1) / vs, hs: hs, vs: vs}
	switch {
	case hs == 2 && u.cw > 2:
		u.fancyH, u.fancyV = true, vs == 2
	case hs == 1 && vs == 2:
		u.fancyV = true
	}
	if u.fancyH && u.fancyV {
		u.sums = make([]int32, u.cw)
	}
	return u
}

// row returns chroma row y at full width, in dst when it must be computed.
func (u *upsampler) row(y int, dst []uint8) []uint8 {
	if !u.fancyV {
		src := u.pix[(y/u.vs)*u.stride:]
		switch {
		case u.fancyH:
			upsampleH2(dst, src[:u.cw])
		case u.hs == 1:
			return src[:u.w]
		default:
			for x := range dst {
				dst[x] = src[x/u.hs]
			}
		}
		return dst
	}
	// The nearer chroma row and the next nearer: above for even rows,
	// below for odd ones.
	i, bias := y/2, int32(1)
	far := i - 1
	if y%2 == 1 {
		far, bias = i+1, 2
	}
	far = min(max(far, 0), u.ch-1)
	near, next := u.pix[i*u.stride:][:u.cw], u.pix[far*u.stride:][:u.cw]
	if !u.fancyH { // 4:4:0
		for x := range dst {
			dst[x] = uint8((3*int32(near[x]) + int32(next[x]) + bias) >> 2)
		}
		return dst
	}
	s := u.sums
	for j := range s {
		s[j] = 3*int32(near[j]) + int32(next[j])
	}
	last := u.cw - 1
	for j, v := range s {
		x := 2 * j
		if x >= len(dst) {
			break
		}
		v3 := 3 * v
		dst[x] = uint8((v3 + s[max(j-1, 0)] + 8) >> 4)
		if x+1 < len(dst) {
			dst[x+1] = uint8((v3 + s[min(j+1, last)] + 7) >> 4)
		}
	}
	return dst
}

// upsampleH2 doubles the row src into dst (of len at most 2*len(src)) with
// libjpeg's h2v1 triangle filter.
func upsampleH2(dst, src []uint8) {
	last := len(src) - 1
	for j, c := range src {
		x := 2 * j
		if x >= len(dst) {
			return
		}
		v3 := 3 * int32(c)
		dst[x] = uint8((v3 + int32(src[max(j-1, 0)]) + 1) >> 2)
		if x+1 < len(dst) {
			dst[x+1] = uint8((v3 + int32(src[min(j+1, last)]) + 2) >> 2)
		}
	}
}

// jpegRGB converts a YCbCr image as image/jpeg decodes it to red, green
// and blue planes (w*h each) as libjpeg-turbo's default decoding does,
// which Pillow uses: chroma upsampled as upsampler says, then libjpeg's
// fixed-point conversion. It reports false for an image whose planes it
// does not know (bounds not at the origin, another subsampling).
func jpegRGB(m *image.YCbCr, r, g, b []uint8) bool {
	hs, vs, ok := chromaFactors(m.SubsampleRatio)
	if !ok || m.Rect.Min != (image.Point{}) {
		return false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	ucb := newUpsampler(m.Cb, m.CStride, w, h, hs, vs)
	ucr := newUpsampler(m.Cr, m.CStride, w, h, hs, vs)
	bufCb, bufCr := make([]uint8, w), make([]uint8, w)
	t := ycc
	for y := range h {
		yr := m.Y[y*m.YStride:][:w]
		cb, cr := ucb.row(y, bufCb)[:w], ucr.row(y, bufCr)[:w]
		ro, gro, bo := r[y*w:][:w], g[y*w:][:w], b[y*w:][:w]
		for x, yv := range yr {
			l := int32(yv)
			icb, icr := cb[x], cr[x]
			ro[x] = clamp8(l + t.crR[icr])
			gro[x] = clamp8(l + (t.cbG[icb]+t.crG[icr])>>16)
			bo[x] = clamp8(l + t.cbB[icb])
		}
	}
	return true
}
