package data

import (
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/internal/testsafe"
)

// TestNilArguments: a nil dataset or model given to the package's
// functions is an error saying so, not a nil-pointer panic.
func TestNilArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"NewLoader", func() error { _, err := NewLoader(nil, 4, false, 0); return err }, "no dataset"},
		{"Subset", func() error { _, err := Subset(nil, []int{0}); return err }, "no dataset"},
		{"Select", func() error { _, err := Select(nil, []int64{0}, 1); return err }, "no dataset"},
		{"NewExample", func() error { _, err := NewExample(nil); return err }, "no dataset"},
		{"InputsOf", func() error { _, err := InputsOf(nil); return err }, "no model"},
		{"OpenFor", func() error { _, err := OpenFor(nil, "x.npz", Options{}); return err }, "no model"},
		{"ReadMetadata", func() error { _, _, err := ReadMetadata(nil); return err }, "no model"},
		{"SetMetadata", func() error { return SetMetadata(nil, []string{"a"}, nil) }, "no model"},
		{"WithoutLabels then NewLoader", func() error { _, err := NewLoader(WithoutLabels(nil), 4, false, 0); return err }, "no dataset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := testsafe.Call(t, tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestDeleteMetadataNil: DeleteMetadata, which returns no error, does
// nothing to a nil model instead of a nil-pointer panic (SetMetadata and
// ReadMetadata return an error for one).
func TestDeleteMetadataNil(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	DeleteMetadata(nil, MetaClassNames)
}

// TestZeroLoader: a Loader not made by NewLoader (its zero value) has no
// batches, and the methods that return an error say it needs NewLoader;
// each panicked with a nil-pointer dereference.
func TestZeroLoader(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	var l Loader
	if l.Len() != 0 || l.Batches() != 0 || l.Order(0) != nil {
		t.Errorf("Len %d, Batches %d, Order %v; want 0, 0, nil", l.Len(), l.Batches(), l.Order(0))
	}
	const want = "data: the Loader was not made by NewLoader"
	if _, err := l.Batch(0, 0); err == nil || err.Error() != want {
		t.Errorf("Batch: error %v, want %q", err, want)
	}
	if _, err := l.Labels(); err == nil || err.Error() != want {
		t.Errorf("Labels: error %v, want %q", err, want)
	}
	n := 0
	for _, err := range l.Epoch(0) {
		n++
		if err == nil || err.Error() != want {
			t.Errorf("Epoch: error %v, want %q", err, want)
		}
	}
	if n != 1 {
		t.Errorf("Epoch yielded %d times, want once (the error)", n)
	}
}
