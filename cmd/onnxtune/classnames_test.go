package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/importer"
	"github.com/onnxtune/onnxtune/train/data"
)

// copyClass copies class folder class of the augment fixture into
// root/name.
func copyClass(t *testing.T, root, class, name string) {
	t.Helper()
	dst := filepath.Join(root, name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(augFolder, class, "*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no images in %s: %v", class, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLabelsFollowClassNames: an image folder is labelled by the model's
// class names (its metadata, or train's --class-names), not by the
// folder's sorted order: a folder holding only "dog" is class 1 of
// cat,dog,eel; a class folder the model does not have is refused naming
// it; --class-names given in another order than the folder's labels by
// name, and a name given twice is a usage error.
func TestLabelsFollowClassNames(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", named, "--data", augFolder, "--image-size", "7",
		"--lr", "0", "--log-level", "error"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	dogs := filepath.Join(dir, "dogs")
	copyClass(t, dogs, "dog", "dog")
	var ev struct {
		Support []int `json:"support"`
	}
	code, stdout, stderr := runCLI("eval", named, "--data", dogs, "--json")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil || !slices.Equal(ev.Support, []int{0, 8, 0}) {
		t.Errorf("eval of a dog-only folder: support %v (%v), want the dogs as class 1 of cat,dog,eel", ev.Support, err)
	}
	zebra := filepath.Join(dir, "zebra")
	copyClass(t, zebra, "dog", "dog")
	copyClass(t, zebra, "cat", "zebra")
	if code, _, stderr := runCLI("eval", named, "--data", zebra); code == exitOK || !strings.Contains(stderr, `class folder "zebra" is not one of the model's classes`) {
		t.Errorf("eval with a class the model lacks: exit %d, stderr %q", code, stderr)
	}

	// --class-names in another order: the written names are those, and
	// training labels by them (eval of the result on the folder counts
	// each class under its name).
	renamed := filepath.Join(dir, "renamed.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", renamed, "--data", augFolder, "--image-size", "7",
		"--class-names", "eel,dog,cat", "--lr", "0", "--log-level", "error"); code != exitOK {
		t.Fatalf("train --class-names: exit %d: %s", code, stderr)
	}
	cats := filepath.Join(dir, "cats")
	copyClass(t, cats, "cat", "cat")
	code, stdout, stderr = runCLI("eval", renamed, "--data", cats, "--json")
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil || !slices.Equal(ev.Support, []int{0, 0, 8}) {
		t.Errorf("cats under eel,dog,cat: support %v, want class 2", ev.Support)
	}
	if code, _, stderr := runCLI("train", augClassifier, "-o", filepath.Join(dir, "x.onnx"), "--data", augFolder,
		"--image-size", "7", "--class-names", "eel,dog,dog"); code != exitUsage || !strings.Contains(stderr, `"dog" is given twice`) {
		t.Errorf("--class-names eel,dog,dog: exit %d, stderr %q; want a usage error", code, stderr)
	}
}

// TestConfigClassWeightsList: a config file may give --class-weights as a
// YAML list; the run equals one with the flag's comma-separated form.
func TestConfigClassWeightsList(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("class-weights: [1, 2, 0.5]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"train", augClassifier, "--data", augFolder, "--image-size", "7", "--steps", "2", "--log-level", "error"}
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	if code, _, stderr := runCLI(append(base, "-o", a, "--config", cfg)...); code != exitOK {
		t.Fatalf("--config with a list: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(append(base, "-o", b, "--class-weights", "1,2,0.5")...); code != exitOK {
		t.Fatalf("--class-weights 1,2,0.5: exit %d: %s", code, stderr)
	}
	ab, err1 := os.ReadFile(a)
	bb, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil || string(ab) != string(bb) {
		t.Error("the config's list and the flag's comma-separated weights train differently")
	}
}

// TestConfigClassNamesList: a config file's YAML list of class names
// gives one name per item, commas and quotes included (ImageNet's "tench,
// Tinca tinca"), as the flag's CSV quoting does; an item was split at its
// commas, so three names for three classes counted four.
func TestConfigClassNamesList(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("class-names: [\"tench, Tinca tinca\", 'say \"hi\"', goldfish]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"tench, Tinca tinca", `say "hi"`, "goldfish"}
	base := []string{"train", augClassifier, "--data", augFolder, "--image-size", "7", "--steps", "1", "--log-level", "error"}
	a, b := filepath.Join(dir, "a.onnx"), filepath.Join(dir, "b.onnx")
	if code, _, stderr := runCLI(append(base, "-o", a, "--config", cfg)...); code != exitOK {
		t.Fatalf("--config with a list: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(append(base, "-o", b, "--class-names", `"tench, Tinca tinca","say ""hi""",goldfish`)...); code != exitOK {
		t.Fatalf("--class-names in CSV: exit %d: %s", code, stderr)
	}
	for _, out := range []string{a, b} {
		m, err := importer.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := data.ReadMetadata(m); err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: class names %q (%v), want %q", filepath.Base(out), got, err, want)
		}
	}
}

// TestClassNamesCountClasses: train writes the class names only when
// they count the model's classes (a two-class folder on a three-class
// model: a one-line warning naming both counts, no names written, and run
// then works); run refuses at load a model whose metadata names fewer
// classes than it scores, saying how to go on, and --class-names with as
// many names as it scores runs it.
func TestClassNamesCountClasses(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two")
	copyClass(t, two, "cat", "cat")
	copyClass(t, two, "dog", "dog")
	out := filepath.Join(dir, "out.onnx")
	code, _, stderr := runCLI("train", augClassifier, "-o", out, "--data", two, "--image-size", "7", "--lr", "0", "--log-level", "warn")
	if code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	warn := "no class names written: the data has 2 classes (cat, dog), the model scores 3; give --class-names with 3 names"
	if !strings.Contains(stderr, warn) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("train stderr %q, want one line with %q", stderr, warn)
	}
	m, err := importer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.MetadataValue(data.MetaClassNames); ok {
		t.Errorf("class names written: %s", v)
	}
	if code, _, stderr := runCLI("run", out, "--data", two); code != exitOK {
		t.Errorf("run: exit %d: %s", code, stderr)
	}

	// A model whose metadata names two of its three classes.
	if err := data.SetMetadata(m, []string{"cat", "dog"}, nil); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.onnx")
	if err := export.WriteFile(bad, m); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI("run", bad, "--data", two)
	if want := "names 2 classes (cat, dog) but the model scores 3: give --class-names with 3 names"; code != exitError || !strings.Contains(stderr, want) {
		t.Errorf("run of a model whose names are too few: exit %d %q, want 1 and %q", code, stderr, want)
	}
	code, stdout, stderr := runCLI("run", bad, "--data", two, "--class-names", "cat,dog,eel")
	if code != exitOK || !strings.Contains(stdout, "cat") && !strings.Contains(stdout, "dog") && !strings.Contains(stdout, "eel") {
		t.Errorf("run --class-names: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestEvalShowsClassNames: eval labels the classes with the model's names
// (its metadata, or --class-names): in the table, in --json's
// "class_names", and on the confusion plot's axes (the picture differs
// from that of the same model without names).
func TestEvalShowsClassNames(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", named, "--data", augFolder, "--image-size", "7",
		"--lr", "0", "--log-level", "error"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI("eval", named, "--data", augFolder, "--plot", filepath.Join(dir, "named"))
	if code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"\ncat ", "\ndog ", "\neel ", "true\\pred  cat  dog  eel"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("eval's table lacks %q:\n%s", want, stdout)
		}
	}
	var ev struct {
		Names []string `json:"class_names"`
	}
	code, stdout, stderr = runCLI("eval", named, "--data", augFolder, "--json")
	if err := json.Unmarshal([]byte(stdout), &ev); code != exitOK || err != nil || !slices.Equal(ev.Names, []string{"cat", "dog", "eel"}) {
		t.Errorf("eval --json: exit %d, class_names %q (%v): %s", code, ev.Names, err, stderr)
	}
	// The same weights without names: indices, and another picture.
	m, err := importer.Load(named)
	if err != nil {
		t.Fatal(err)
	}
	data.DeleteMetadata(m, data.MetaClassNames)
	bare := filepath.Join(dir, "bare.onnx")
	if err := export.WriteFile(bare, m); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("eval", bare, "--data", augFolder, "--plot", filepath.Join(dir, "bare"))
	if code != exitOK || !strings.Contains(stdout, "true\\pred  0  1  2") {
		t.Errorf("eval without names: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("eval", bare, "--data", augFolder, "--json", "--class-names", "eel,dog,cat")
	if err := json.Unmarshal([]byte(stdout), &ev); code != exitOK || err != nil || !slices.Equal(ev.Names, []string{"eel", "dog", "cat"}) {
		t.Errorf("eval --json --class-names: exit %d, class_names %q (%v): %s", code, ev.Names, err, stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "named", "confusion.png"))
	b, _ := os.ReadFile(filepath.Join(dir, "bare", "confusion.png"))
	if len(a) == 0 || bytes.Equal(a, b) {
		t.Errorf("the confusion plot with class names is the one without (%d bytes)", len(a))
	}
}

// TestRenamedFoldersWarn: a folder whose class folders match none of the
// model's class names is labelled by sorted position, as documented, with
// a one-line warning that pairs them; folders named as the classes give
// none.
func TestRenamedFoldersWarn(t *testing.T) {
	dir := t.TempDir()
	named := filepath.Join(dir, "named.onnx")
	if code, _, stderr := runCLI("train", augClassifier, "-o", named, "--data", augFolder, "--image-size", "7",
		"--lr", "0", "--log-level", "error"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	other := filepath.Join(dir, "other")
	for _, p := range [][2]string{{"cat", "x"}, {"dog", "y"}, {"eel", "z"}} {
		copyClass(t, other, p[0], p[1])
	}
	code, _, stderr := runCLI("eval", named, "--data", other)
	want := "no class folder is named as one of the class names: the sorted folders are labelled by position (x=cat, y=dog, z=eel)"
	if code != exitOK || !strings.Contains(stderr, want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("eval of renamed folders: exit %d %q, want one line with %q", code, stderr, want)
	}
	if code, _, stderr := runCLI("eval", named, "--data", augFolder); code != exitOK || strings.Contains(stderr, "labelled by position") {
		t.Errorf("eval of named folders: exit %d %q, want no warning", code, stderr)
	}
}
