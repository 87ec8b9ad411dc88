package data

import (
	"errors"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenFunctionsApplySharedOptions: OpenMNIST and OpenIDX apply the
// options Open applies to every source (Classes, PerClass, Unlabeled,
// ModelClasses), as OpenNPZWith does: they were dropped without a word, so
// OpenMNIST("test", PerClass 5) gave all 10,000 examples. OpenImageFolder,
// which returns the folder itself, refuses the ones that make another
// dataset and checks ModelClasses.
func TestOpenFunctionsApplySharedOptions(t *testing.T) {
	sel := Options{Classes: []int64{1, 2}, PerClass: 5}
	want, err := Open("mnist:test", sel)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenMNIST("test", sel)
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != want.Len() || got.Len() != 10 {
		t.Errorf("OpenMNIST with Classes 1,2 and PerClass 5: %d examples, Open gives %d, want 10", got.Len(), want.Len())
	}
	for i := range got.Len() {
		if a, b := got.(labeler).label(i), want.(labeler).label(i); a != b {
			t.Fatalf("example %d has label %d, Open's %d", i, a, b)
		}
	}
	if ds, err := OpenMNIST("test", Options{Unlabeled: true}); err != nil || !hasNoLabels(ds) {
		t.Errorf("OpenMNIST with Unlabeled: labels kept (error %v)", err)
	}
	for _, tc := range []struct {
		name string
		open func() error
		want string
	}{
		{"mnist negative per class", func() error { _, err := OpenMNIST("test", Options{PerClass: -1}); return err }, "option PerClass -1"},
		{"mnist model classes", func() error { _, err := OpenMNIST("test", Options{ModelClasses: 5}); return err }, "not one of the model's 5 classes"},
		{"idx model classes", func() error {
			dir, err := gomnistData()
			if err != nil {
				return err
			}
			_, err = OpenIDX(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), Options{ModelClasses: 5})
			return err
		}, "not one of the model's 5 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.open(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}

	root := t.TempDir()
	writeImage(t, filepath.Join(root, "a", "1.png"), solid(4, 4, color.Gray{1}))
	writeImage(t, filepath.Join(root, "b", "1.png"), solid(4, 4, color.Gray{2}))
	writeImage(t, filepath.Join(root, "c", "1.png"), solid(4, 4, color.Gray{3}))
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"classes", Options{Classes: []int64{0}}, "option Classes"},
		{"per class", Options{PerClass: 1}, "option PerClass"},
		{"unlabeled", Options{Unlabeled: true}, "option Unlabeled"},
		{"model classes", Options{ModelClasses: 2}, "not one of the model's 2 classes"},
	} {
		t.Run("folder "+tc.name, func(t *testing.T) {
			_, err := OpenImageFolder(root, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if tc.name != "model classes" && !errors.As(err, new(*OptionError)) {
				t.Errorf("error %v is not an *OptionError", err)
			}
			if _, err := Open(root, tc.opts); tc.name != "model classes" && err != nil {
				t.Errorf("Open with the same options: %v", err)
			}
		})
	}
}
