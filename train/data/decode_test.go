package data

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// The fixtures of testdata/make_decode.py: Pillow's decoding of small
// JPEGs and 16-bit PNGs.
var decodeDir = filepath.Join("testdata", "decode")

type decodeCase struct {
	File        string `json:"file"`
	Mode        string `json:"mode"`
	Subsampling string `json:"subsampling"`
	Quality     int    `json:"quality"`
	Progressive bool   `json:"progressive"`
	Fancy       bool   `json:"fancy"`
}

func readDecodeCases(t *testing.T) (map[string]decodeCase, map[string]npz.Array) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(decodeDir, "cases.json"))
	if err != nil {
		t.Fatalf("%v (regenerate with .venv/bin/python train/data/testdata/make_decode.py)", err)
	}
	var meta struct {
		Cases map[string]decodeCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	ref, err := npz.Read(filepath.Join(decodeDir, "pil.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Cases) == 0 || len(ref) != len(meta.Cases) {
		t.Fatalf("%d cases, %d arrays", len(meta.Cases), len(ref))
	}
	return meta.Cases, ref
}

// pixelDiff returns the largest and the mean absolute difference between
// planes ps and want, uint8 [H, W, 3].
func pixelDiff(t *testing.T, ps [3]plane, want npz.Array) (worst int, mean float64) {
	t.Helper()
	w8, ok := want.Data.([]uint8)
	if !ok || len(want.Shape) != 3 || want.Shape[2] != 3 {
		t.Fatalf("reference of shape %v (%T)", want.Shape, want.Data)
	}
	h, w := want.Shape[0], want.Shape[1]
	if ps[0].h != h || ps[0].w != w {
		t.Fatalf("decoded %dx%d, Pillow %dx%d", ps[0].h, ps[0].w, h, w)
	}
	sum := 0
	for c, p := range ps {
		for k, v := range p.pix {
			d := int(v) - int(w8[3*k+c])
			d = max(d, -d)
			worst = max(worst, d)
			sum += d
		}
	}
	return worst, float64(sum) / float64(len(w8))
}

// oldRGB is the conversion this package made before it followed libjpeg
// and PIL for YCbCr, CMYK and 16-bit gray images (boxRGB; color.CMYK and
// color.Gray16 by way of color.NRGBA64, high bytes); nil for other images.
func oldRGB(img image.Image) *[3]plane {
	switch m := img.(type) {
	case *image.YCbCr:
		p := boxRGB(m)
		return &p
	case *image.CMYK, *image.Gray16:
		b := img.Bounds()
		w, h := b.Dx(), b.Dy()
		var p [3]plane
		for c := range p {
			p[c] = plane{w, h, make([]uint8, w*h)}
		}
		for y := range h {
			for x := range w {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				k := y*w + x
				p[0].pix[k], p[1].pix[k], p[2].pix[k] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
		return &p
	}
	return nil
}

// boxRGB is the conversion this package made before jpegRGB: chroma
// replicated (image.YCbCr's COffset), color.YCbCrToRGB.
func boxRGB(m *image.YCbCr) [3]plane {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	var p [3]plane
	for c := range p {
		p[c] = plane{w, h, make([]uint8, w*h)}
	}
	for y := range h {
		for x := range w {
			yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
			k := y*w + x
			p[0].pix[k], p[1].pix[k], p[2].pix[k] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	}
	return p
}

// Measured with Pillow 13.0.0 (libjpeg-turbo 3.2.0) and Go 1.26.8, the
// 29 JPEG cases differ from Pillow's by at most 3 levels (4:2:0 noise and
// edges, 4:1:1, a progressive 4:4:4) and 0.065 on average over images of
// 64 pixels or more: what is left is the inverse DCT, image/jpeg's is not
// libjpeg's islow. Replicated chroma with color.YCbCrToRGB (boxRGB)
// differed by up to 109 levels (edges_420_q90), 16 on smooth 4:2:0, and
// by 0.09 to 0.21 on average where libjpeg replicates too (4:4:4, 4:1:1).
const (
	jpegTolerance     = 3
	jpegMeanTolerance = 0.1 // for images of at least 64 pixels
)

// subsamplings are the chroma subsamplings by the names of cases.json.
var subsamplings = map[string]image.YCbCrSubsampleRatio{
	"4:4:4": image.YCbCrSubsampleRatio444, "4:2:2": image.YCbCrSubsampleRatio422,
	"4:2:0": image.YCbCrSubsampleRatio420, "4:4:0": image.YCbCrSubsampleRatio440,
	"4:1:1": image.YCbCrSubsampleRatio411, "4:1:0": image.YCbCrSubsampleRatio410,
}

// TestDecodeMatchesPillow compares decoded pixels with Pillow's
// Image.open(file).convert("RGB").
func TestDecodeMatchesPillow(t *testing.T) {
	cases, ref := readDecodeCases(t)
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		tc := cases[name]
		t.Run(name, func(t *testing.T) {
			img, err := decodeImage(filepath.Join(decodeDir, tc.File), [2]int{}, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			worst, mean := pixelDiff(t, rgbPlanes(img), ref[name])
			tol, meanTol := jpegTolerance, jpegMeanTolerance
			if filepath.Ext(tc.File) == ".png" {
				tol, meanTol = 0, 0
			}
			b := img.Bounds()
			big := b.Dx()*b.Dy() >= 64
			if !big {
				meanTol = math.Inf(1)
			}
			m, isYCbCr := img.(*image.YCbCr)
			if want := subsamplings[tc.Subsampling]; isYCbCr != (tc.Subsampling != "") || isYCbCr && m.SubsampleRatio != want {
				t.Fatalf("decoded as %T, Pillow reads subsampling %q", img, tc.Subsampling)
			}
			old := oldRGB(img)
			if old == nil {
				t.Logf("%s (%T): max %d mean %.3f", name, img, worst, mean)
			} else {
				// The old conversion must fail the test where libjpeg smooths,
				// and be further from Pillow's on average wherever there is
				// enough to average (libjpeg's color conversion, PIL's CMYK).
				bw, bm := pixelDiff(t, *old, ref[name])
				what := fmt.Sprintf("%T", img)
				if isYCbCr {
					what = m.SubsampleRatio.String()
				}
				t.Logf("%s (%s): max %d mean %.3f; before: max %d mean %.3f", name, what, worst, mean, bw, bm)
				if tc.Fancy && bw <= tol {
					t.Errorf("replicated chroma is within %d levels of Pillow's (max %d): the case does not test the upsampling", tol, bw)
				}
				if big && bm <= mean {
					t.Errorf("the old conversion is as close to Pillow's on average (%.3f, now %.3f)", bm, mean)
				}
			}
			if worst > tol || mean > meanTol {
				t.Errorf("differs from Pillow's by up to %d levels (mean %.3f), tolerance %d (mean %.3g)", worst, mean, tol, meanTol)
			}
		})
	}
}

// benchYCbCr returns a 640x480 YCbCr image of the given subsampling with
// planes of pseudo-random bytes (fixed seed), as image/jpeg lays it out.
func benchYCbCr(b *testing.B, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	b.Helper()
	m := image.NewYCbCr(image.Rect(0, 0, 640, 480), ratio)
	s := uint32(1)
	next := func() uint8 { s = s*1664525 + 1013904223; return uint8(s >> 24) }
	for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
		for i := range p {
			p[i] = next()
		}
	}
	return m
}

func BenchmarkYCbCrToRGB_640x480(b *testing.B) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440} {
		m := benchYCbCr(b, ratio)
		name := strings.TrimPrefix(ratio.String(), "YCbCrSubsampleRatio")
		b.Run(name+"/libjpeg", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rgbPlanes(m)
			}
		})
		b.Run(name+"/box", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				boxRGB(m)
			}
		})
	}
}
