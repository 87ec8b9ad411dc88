package train

import (
	"path/filepath"
	"testing"

	"github.com/onnxtune/onnxtune/internal/npz"
)

// nanArgmaxDir holds scores with NaN and infinities and torch.argmax's
// picks (models/make_nan_argmax.py).
var nanArgmaxDir = filepath.Join("..", "models", "nan_argmax")

// nanScores reads the scores x ([N, k], row-major) and labels y of
// nan_argmax/data.npz, and the arrays of its expected.npz.
func nanScores(t *testing.T) (x []float32, k int, y []int64, exp map[string]npz.Array) {
	t.Helper()
	in, err := npz.Read(filepath.Join(nanArgmaxDir, "data.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if exp, err = npz.Read(filepath.Join(nanArgmaxDir, "expected.npz")); err != nil {
		t.Fatal(err)
	}
	return in["x"].Data.([]float32), in["x"].Shape[1], in["y"].Data.([]int64), exp
}

// TestArgmaxTorch: Argmax picks what torch.argmax picks, a NaN counting as
// the largest score (the first NaN wins) and the first of equal largest
// ones, and ScoreLogits counts a row right when that pick is its label.
// Argmax, and the accuracy, skipped NaNs: [0.1, NaN, 0.9] gave 2, torch 1.
func TestArgmaxTorch(t *testing.T) {
	x, k, y, exp := nanScores(t)
	want := exp["argmax"].Data.([]int64)
	correct := 0
	for i, w := range want {
		row := x[i*k : (i+1)*k]
		if got := Argmax(row); int64(got) != w {
			t.Errorf("row %d %v: Argmax %d, torch.argmax %d", i, row, got, w)
		}
		if w == y[i] {
			correct++
		}
	}
	_, got, err := ScoreLogits(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if got != correct {
		t.Errorf("ScoreLogits: %d correct, torch.argmax %d", got, correct)
	}
}

// TestTop5Torch: an example counts in top-5 when its label is among the
// first five of torch.sort(descending=True, stable=True), a NaN above every
// number and ties to the lower class index. The rank ignored NaNs: a label
// behind five NaNs counted, and a NaN label always did.
func TestTop5Torch(t *testing.T) {
	x, k, y, exp := nanScores(t)
	top5, ok := exp["top5"]
	if !ok {
		t.Fatal("expected.npz has no top5: run models/make_nan_argmax.py")
	}
	want := top5.Data.([]int64)
	total, in5 := 0, 0
	for i, w := range want {
		var s scorer
		if err := s.add(x[i*k:(i+1)*k], y[i:i+1], nil); err != nil {
			t.Fatal(err)
		}
		if int64(s.top5) != w {
			t.Errorf("row %d %v label %d: top-5 %d, torch %d", i, x[i*k:(i+1)*k], y[i], s.top5, w)
		}
		total += int(w)
	}
	var s scorer
	if err := s.add(x, y, nil); err != nil {
		t.Fatal(err)
	}
	in5 = s.top5
	if in5 != total || total == 0 || total == len(want) {
		t.Errorf("the whole set: %d in top-5, torch %d of %d (want some in, some out)", in5, total, len(want))
	}
}
