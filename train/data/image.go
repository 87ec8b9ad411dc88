package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// jpegPixelsPerByte bounds the pixels of a JPEG image per byte of its
// file: every 8x8 block codes its DC coefficient in at least one bit, so a
// valid JPEG has at most 512 pixels per byte (encoders reach about 256).
const jpegPixelsPerByte = 1024

// maxWalkDepth bounds the folder nesting under a class folder (symbolic
// links may form cycles).
const maxWalkDepth = 32

// imageExts are the file extensions (lower case) this package decodes.
var imageExts = []string{".png", ".jpg", ".jpeg"}

// otherImageExts are the other extensions torchvision's ImageFolder takes:
// files with them are an error rather than silently left out.
var otherImageExts = []string{".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// ImageFolder is a folder of images, one subfolder per class, as
// torchvision's ImageFolder reads it: ROOT/CLASS/.../NAME.png.
type ImageFolder struct {
	root    string
	name    string // of the field: the model's input, or "x"
	classes []string
	renamed []string // the folders, when ClassNames name none and relabel them by position
	files   []string
	labels  []int64
	c, h, w int             // example shape
	resize  bool            // resize every image to h x w
	cropPct float64         // with resize: Resize then CenterCrop (0: stretch)
	interp  Interpolation   // the resize filter
	aug     *Augment        // training augmentation, or nil
	tables  []*[256]float32 // normalization, per channel
	mean    []float64       // of the normalization, per channel
	std     []float64
	max     int64 // Options.MaxBytes, as graph.LimitBytes gives it
	pixels  int64 // Options.MaxImagePixels, or its default
}

var (
	_ Dataset = (*ImageFolder)(nil)
	_ labeler = (*ImageFolder)(nil)
)

// OpenImageFolder opens the image folder root. Its subfolders are the
// classes, sorted by name and numbered from 0 (hidden folders included, as
// torchvision does); the images of a class are the .png, .jpg and .jpeg
// files anywhere under its folder (case-insensitive extensions), ordered by
// folder path and then name. Other files are ignored, except those with
// another extension torchvision would take (.bmp, .webp, ...), which are an
// error.
//
// Open first checks the options against the model's input
// (Options.InputChannels, Options.InputSize), then every image's header:
// its format, its size (the same for all unless Options.ImageSize is set,
// and Options.InputSize when that is set), its pixels (at most
// Options.MaxImagePixels), and that decoding it will not need more memory
// than such a file can justify nor more than Options.MaxBytes. Images are
// decoded when read, after the same checks.
// Examples are float32 of shape channels x height x width (3 channels, or 1
// with Options.Grayscale), normalized with Options.Mean and Options.Std
// (ImageNet's by default).
//
// Classes, PerClass and Unlabeled make another dataset than the folder:
// they are an *OptionError here (Open applies them, as do Select and
// WithoutLabels). ModelClasses is checked.
func OpenImageFolder(root string, opts Options) (*ImageFolder, error) {
	switch {
	case len(opts.Classes) > 0:
		return nil, optionErr(root, "Classes", "option Classes selects examples: open the folder with Open, or Select from it")
	case opts.PerClass != 0:
		return nil, optionErr(root, "PerClass", "option PerClass selects examples: open the folder with Open, or Select from it")
	case opts.Unlabeled:
		return nil, optionErr(root, "Unlabeled", "option Unlabeled drops the labels: open the folder with Open, or use WithoutLabels")
	}
	f, err := openImageFolder(root, opts)
	if err != nil {
		return nil, err
	}
	if err := checkDatasetLabels(root, f, opts.ModelClasses); err != nil {
		return nil, err
	}
	return f, nil
}

// openImageFolder is OpenImageFolder without the options Open applies to
// every source.
func openImageFolder(root string, opts Options) (*ImageFolder, error) {
	f := &ImageFolder{root: root, name: opts.exampleName(), c: 3, max: graph.LimitBytes(opts.MaxBytes), pixels: opts.MaxImagePixels}
	switch {
	case f.pixels == 0:
		f.pixels = DefaultMaxImagePixels
	case f.pixels < 0:
		return nil, optionErr(root, "MaxImagePixels", "option MaxImagePixels %d, want a positive number of pixels", f.pixels)
	}
	if opts.Grayscale {
		f.c = 1
	}
	switch in := opts.InputChannels; {
	case in == 0 || in == f.c:
	case f.c == 3 && in == 1:
		return nil, fileErr(root, "the model's input%s takes 1 channel, images are read as 3 (RGB): read them as grayscale (--grayscale)", opts.inputName())
	case f.c == 1:
		return nil, fileErr(root, "the model's input%s takes %d channels, option Grayscale reads images as 1", opts.inputName(), in)
	default:
		return nil, fileErr(root, "the model's input%s takes %d channels, images are read as 3 (RGB) or 1 (--grayscale)", opts.inputName(), in)
	}
	defMean, defStd := []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}
	if opts.Grayscale {
		defMean, defStd = []float64{0.449}, []float64{0.226}
	}
	norm, err := newNormalization(f.c, opts.Mean, opts.Std, defMean, defStd)
	if err != nil {
		return nil, fileErr(root, "%w", err)
	}
	for c := range f.c {
		f.tables = append(f.tables, norm.table(c))
	}
	f.mean, f.std = norm.mean, norm.std
	switch h, w := opts.ImageSize[0], opts.ImageSize[1]; {
	case h == 0 && w == 0:
	case h <= 0 || w <= 0:
		return nil, optionErr(root, "ImageSize", "option ImageSize %dx%d is not a valid image size", h, w)
	default:
		if err := graph.CheckBytes(fmt.Sprintf("an example of %dx%dx%d float32", f.c, h, w), pixels(h, w), 4*int64(f.c), f.max); err != nil {
			return nil, &FileError{Path: root, Err: err}
		}
		f.h, f.w, f.resize = h, w, true
	}
	switch pct := opts.CropPct; {
	case math.IsNaN(pct) || math.IsInf(pct, 0) || pct < 0:
		return nil, optionErr(root, "CropPct", "option CropPct %v, want a positive share (or 0 to stretch)", pct)
	case pct != 0 && !f.resize:
		return nil, optionErr(root, "CropPct", "option CropPct needs an image size (ImageSize) to crop to")
	case pct != 0 && resizedTooLarge(float64(max(f.h, f.w))/pct, f.c, f.max):
		// Every image's shorter side would be resized to at least this.
		return nil, optionErr(root, "CropPct", "option CropPct %v resizes every image's shorter side to %.4g pixels or more (the image size divided by it): more than MaxBytes allows", pct, float64(max(f.h, f.w))/pct)
	default:
		f.cropPct = pct
	}
	switch in := opts.Interpolation.orDefault(); {
	case !slices.Contains(Interpolations(), in):
		return nil, optionErr(root, "Interpolation", "option Interpolation %q, want bilinear, bicubic or nearest", string(in))
	case in != Bilinear && !f.resize:
		return nil, optionErr(root, "Interpolation", "option Interpolation needs an image size (ImageSize) to resize to")
	default:
		f.interp = in
	}
	if a := opts.Augment; a != nil {
		if err := a.check(); err != nil {
			return nil, &FileError{Path: root, Err: err}
		}
		if a.Scale != [2]float64{} && !f.resize {
			return nil, optionErr(root, "Scale", "RandomResizedCrop needs an image size (ImageSize) to resize the crop to")
		}
		aug := *a
		f.aug = &aug
	}
	in := opts.InputSize
	if f.resize && in != [2]int{} && in != opts.ImageSize {
		return nil, fileErr(root, "option ImageSize %dx%d (height x width), but the model takes images of %dx%d", f.h, f.w, in[0], in[1])
	}

	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	for _, e := range entries { // sorted by name
		if isDir(root, e) {
			f.classes = append(f.classes, e.Name())
		}
	}
	if len(f.classes) == 0 {
		return nil, fileErr(root, "no class folders (want ROOT/CLASS/IMAGE.png|jpg|jpeg)")
	}
	folders := f.classes
	index := func(i int) int64 { return int64(i) }
	if opts.ClassNames != nil {
		if f.classes, index, err = namedLabels(root, folders, opts.ClassNames); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(folders, func(c string) bool { return slices.Contains(opts.ClassNames, c) }) {
			f.renamed = folders
		}
	}
	for i, class := range folders {
		label := index(i)
		files, err := classFiles(filepath.Join(root, class))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fileErr(filepath.Join(root, class), "class folder %q has no .png, .jpg or .jpeg images", class)
		}
		for _, file := range files {
			f.files = append(f.files, file)
			f.labels = append(f.labels, label)
		}
	}
	for i, file := range f.files {
		w, h, err := imageHeader(file, f.max, f.pixels)
		if err != nil {
			return nil, err
		}
		switch {
		case f.resize && f.cropPct > 0:
			rw, rh := evalSize(w, h, f.w, f.h, f.cropPct)
			if rw < 1 || rh < 1 {
				return nil, fileErr(file, "image of %dx%d (height x width) would be resized to %dx%d before the center crop", h, w, rh, rw)
			}
			if err := graph.CheckBytes(fmt.Sprintf("the image of %dx%d resized to %dx%d", h, w, rh, rw), pixels(rh, rw), int64(f.c)+1, f.max); err != nil {
				return nil, &FileError{Path: file, Err: err}
			}
		case f.resize:
		case in != [2]int{} && (h != in[0] || w != in[1]):
			return nil, fileErr(file, "image of %dx%d (height x width), but the model takes images of %dx%d; set an image size to resize them all",
				h, w, in[0], in[1])
		case i == 0:
			f.w, f.h = w, h
		case w != f.w || h != f.h:
			return nil, fileErr(file, "image of %dx%d (height x width), but %s is %dx%d; set an image size to resize them all",
				h, w, f.files[0], f.h, f.w)
		}
	}
	return f, nil
}

// isDir reports whether entry e of folder dir is a folder, following a
// symbolic link.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

// classFiles lists the image files under dir as torchvision does:
// for root, _, names in sorted(os.walk(dir, followlinks=True)), the
// names in sorted order.
func classFiles(dir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > maxWalkDepth {
			return fileErr(path, "folders nested more than %d deep (a symbolic link cycle?)", maxWalkDepth)
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		fo := folder{path: path}
		for _, e := range entries {
			if isDir(path, e) {
				if err := walk(filepath.Join(path, e.Name()), depth+1); err != nil {
					return err
				}
				continue
			}
			name := filepath.Join(path, e.Name())
			ext := strings.ToLower(filepath.Ext(e.Name()))
			switch {
			case slices.Contains(imageExts, ext):
				fo.files = append(fo.files, name)
			case slices.Contains(otherImageExts, ext):
				return fileErr(name, "%s images are not supported (convert them to .png or .jpg)", ext)
			}
		}
		folders = append(folders, fo)
		return nil
	}
	if err := walk(dir, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	var files []string
	for _, fo := range folders {
		files = append(files, fo.files...)
	}
	return files, nil
}

// Classes returns the class names: the label of an example is its class's
// index in this list.
func (f *ImageFolder) Classes() []string { return slices.Clone(f.classes) }

// Renamed returns the class folders, sorted, when none of them is named
// as one of Options.ClassNames and the names label them by position (nil
// otherwise).
func (f *ImageFolder) Renamed() []string { return slices.Clone(f.renamed) }

// Path returns the file of example i ("" when out of range).
func (f *ImageFolder) Path(i int) string {
	if i < 0 || i >= len(f.files) {
		return ""
	}
	return f.files[i]
}

func (f *ImageFolder) Len() int { return len(f.files) }
func (f *ImageFolder) Fields() []Field {
	return []Field{{Name: f.name, DType: graph.Float32, Shape: []int{f.c, f.h, f.w}}}
}
func (f *ImageFolder) TargetShape() ([]int, bool) { return nil, false }
func (f *ImageFolder) label(i int) int64          { return f.labels[i] }

// Read decodes, converts, resizes and normalizes image i. With
// augmentation, it draws as at epoch 0 (a Loader passes its epoch).
func (f *ImageFolder) Read(i int, x []any, t []float32) (int64, error) {
	return f.readEpoch(0, i, x, t)
}

// readEpoch reads image i as epoch epoch of a training run sees it: the
// evaluation transform (resize, center crop) or the augmentation drawn for
// (seed, epoch, i), then the normalization.
func (f *ImageFolder) readEpoch(epoch, i int, x []any, _ []float32) (int64, error) {
	xf, err := checkRead(i, len(f.files), x, f.c*f.h*f.w)
	if err != nil {
		return 0, err
	}
	path := f.files[i]
	var want [2]int // the size the image must have, unless resized
	if !f.resize {
		want = [2]int{f.h, f.w}
	}
	planes, shared, err := f.planes(path, want)
	if err != nil {
		return 0, err
	}
	if shared {
		// Equal channels: transformed once, the same bytes for each.
		planes = planes[:1]
	}
	var d draws
	if f.aug != nil {
		d = f.aug.draw(epoch, i, planes[0].w, planes[0].h)
	}
	for c := range planes {
		// A full-size plane is dropped once transformed: the others
		// wait, nothing else of the decoded image is kept.
		p := planes[c]
		planes[c] = plane{}
		switch {
		case d.crop:
			p = resizedCrop(p, d.top, d.left, d.h, d.w, f.w, f.h, f.interp)
		case f.resize:
			p = evalTransform(p, f.w, f.h, f.cropPct, f.interp)
		}
		if d.flip {
			p = hflip(p)
		}
		planes[c] = p
	}
	if d.jitter {
		d.applyJitter(planes)
	}
	size := f.h * f.w
	for c := range f.c {
		p := planes[min(c, len(planes)-1)]
		if p.w != f.w || p.h != f.h {
			return 0, fileErr(path, "image transformed to %dx%d, want %dx%d", p.h, p.w, f.h, f.w)
		}
		t, out := f.tables[c], xf[c*size:(c+1)*size]
		for k, v := range p.pix {
			out[k] = t[v]
		}
	}
	return f.labels[i], nil
}

// planes decodes the image at path (of size want unless zero) and returns
// its channels as f reads them, at the image's size: f.c planes, or one
// plane for every channel when shared (a gray image read as RGB, whose
// channels are equal). The decoded image itself is not kept.
func (f *ImageFolder) planes(path string, want [2]int) (planes []plane, shared bool, err error) {
	img, err := decodeImage(path, want, f.max, f.pixels)
	if err != nil {
		return nil, false, err
	}
	b := img.Bounds()
	if !f.resize && (b.Dx() != f.w || b.Dy() != f.h) {
		return nil, false, fileErr(path, "image of %dx%d (height x width), want %dx%d", b.Dy(), b.Dx(), f.h, f.w)
	}
	switch g, isGray := img.(*image.Gray); {
	case isGray:
		return []plane{grayPlane(g)}, f.c > 1, nil
	case f.c == 1:
		return []plane{luma(rgbPlanes(img))}, false, nil
	}
	p := rgbPlanes(img)
	return p[:], false, nil
}

// imageFormat sniffs a PNG or JPEG image from its first bytes.
func imageFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("\xff\xd8")):
		return "jpeg"
	}
	return ""
}

// resizedTooLarge reports whether an image of c channels whose shorter
// side is resized to side pixels (at least side x side of them, and a
// plane of bytes more) would exceed limit bytes, or an int.
func resizedTooLarge(side float64, c int, limit int64) bool {
	return !(side < 1<<30) || side*side*float64(c+1) > float64(limit)
}

// pixels returns h*w, or -1 if that overflows.
func pixels(h, w int) int64 {
	if w > 0 && h > math.MaxInt64/w {
		return -1
	}
	return int64(h) * int64(w)
}

// imageHeader reads and checks the header of the image at path and
// returns its width and height.
func imageHeader(path string, max, pixels int64) (w, h int, err error) {
	fh, st, err := openRegular(path)
	if err != nil {
		return 0, 0, err
	}
	defer fh.Close()
	cfg, _, err := checkHeader(bufio.NewReader(fh), st.Size(), max, pixels)
	if err != nil {
		return 0, 0, &FileError{Path: path, Err: err}
	}
	return cfg.Width, cfg.Height, nil
}

// checkHeader reads the header of a PNG or JPEG image of size bytes and
// checks that it has at most maxPixels pixels (zero: the default) and that
// decoding it needs no more memory than the file justifies and than max.
func checkHeader(r *bufio.Reader, size, max, maxPixels int64) (cfg image.Config, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed image header: %v", p)
		}
	}()
	head, _ := r.Peek(8)
	format = imageFormat(head)
	switch format {
	case "png":
		cfg, err = png.DecodeConfig(r)
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(r)
	default:
		return cfg, "", errors.New("not a PNG or JPEG image")
	}
	if err != nil {
		return cfg, format, fmt.Errorf("bad %s image header: %w", strings.ToUpper(format), eofErr(err))
	}
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return cfg, format, fmt.Errorf("%s image of %dx%d pixels", strings.ToUpper(format), h, w)
	}
	if maxPixels <= 0 {
		maxPixels = DefaultMaxImagePixels
	}
	if w > maxPixels/h {
		return cfg, format, fmt.Errorf("%s image of %dx%d (%d pixels) is over the limit of %d pixels against decompression bombs (raise it with --max-image-pixels)",
			strings.ToUpper(format), h, w, w*h, maxPixels)
	}
	// The decoded image, then its channels as bytes (and the luma of
	// Grayscale); a resize's output is bounded by Options.ImageSize.
	what := fmt.Sprintf("decoding a %s image of %dx%d pixels", strings.ToUpper(format), h, w)
	if err := graph.CheckBytes(what, w*h, decodedBytes(cfg.ColorModel)+4, max); err != nil {
		return cfg, format, err
	}
	if format == "jpeg" && w*h > jpegPixelsPerByte*size {
		return cfg, format, fmt.Errorf("JPEG image of %dx%d pixels cannot fit in a %d-byte file", h, w, size)
	}
	if format == "png" {
		// The zlib-compressed rows hold at least h*ceil(w*bits/8) bytes.
		raw := h * ((w*int64(pngMinBits(cfg.ColorModel)) + 7) / 8)
		if raw > size*maxGzipRatio {
			return cfg, format, fmt.Errorf("PNG image of %dx%d pixels cannot fit in a %d-byte file", h, w, size)
		}
	}
	return cfg, format, nil
}

// decodedBytes is the bytes per pixel of the image image/png or image/jpeg
// decodes for a color model (4:4:4 for YCbCr, the most).
func decodedBytes(m color.Model) int64 {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	return 8
}

// pngMinBits is the fewest bits a pixel of a PNG with this color model has.
func pngMinBits(m color.Model) int {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.RGBAModel, color.NRGBAModel, color.Gray16Model:
		return 16
	case color.RGBA64Model, color.NRGBA64Model:
		return 32
	}
	return 1 // gray or paletted, from 1 bit per pixel
}

// decodeImage decodes the PNG or JPEG image at path, checking its header
// first: against max, and against size (height, width) unless that is
// zero.
func decodeImage(path string, size [2]int, max, pixels int64) (image.Image, error) {
	fh, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	img, err := decode(fh, st.Size(), size, max, pixels)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	return img, nil
}

// decode decodes the PNG or JPEG image of size bytes that r holds, after
// the checks of decodeImage.
func decode(r io.ReadSeeker, n int64, size [2]int, max, pixels int64) (img image.Image, err error) {
	cfg, format, err := checkHeader(bufio.NewReader(r), n, max, pixels)
	if err != nil {
		return nil, err
	}
	if size != [2]int{} && (cfg.Height != size[0] || cfg.Width != size[1]) {
		return nil, fmt.Errorf("image of %dx%d (height x width), want %dx%d", cfg.Height, cfg.Width, size[0], size[1])
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("malformed %s image: %v", format, p)
		}
	}()
	br := bufio.NewReader(r)
	if format == "png" {
		img, err = png.Decode(br)
	} else {
		img, err = jpeg.Decode(br)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding %s image: %w", strings.ToUpper(format), eofErr(err))
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("%s image decoded at %dx%d, its header says %dx%d", strings.ToUpper(format), b.Dy(), b.Dx(), cfg.Height, cfg.Width)
	}
	return img, nil
}

// namedLabels returns the label space names and the label of each class
// folder (by its index in folders): the index of its name in names; or,
// when no folder's name is among as many names, its position (the names
// rename the sorted folders). A folder whose name is not among them
// otherwise, or a name given twice, is an error.
func namedLabels(root string, folders, names []string) ([]string, func(int) int64, error) {
	at := make(map[string]int64, len(names))
	for i, n := range names {
		if _, dup := at[n]; dup {
			return nil, nil, fileErr(root, "class name %q is given twice", n)
		}
		at[n] = int64(i)
	}
	labels := make([]int64, len(folders))
	known := 0
	for _, class := range folders {
		if _, ok := at[class]; ok {
			known++
		}
	}
	if known == 0 && len(folders) == len(names) {
		// Names for the folders (n01440764 -> tench): by position.
		for i := range labels {
			labels[i] = int64(i)
		}
		return slices.Clone(names), func(i int) int64 { return labels[i] }, nil
	}
	for i, class := range folders {
		l, ok := at[class]
		if !ok {
			return nil, nil, fileErr(filepath.Join(root, class), "class folder %q is not one of the model's classes %q", class, names)
		}
		labels[i] = l
	}
	return slices.Clone(names), func(i int) int64 { return labels[i] }, nil
}
