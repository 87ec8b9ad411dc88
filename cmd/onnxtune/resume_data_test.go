package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeRefusesOtherPreprocessing: the evaluation preprocessing of an
// image folder (crop, mean, std) shapes the training examples as the
// augmentation does, so a resume under other values is refused naming it;
// under the same values it goes on.
func TestResumeRefusesOtherPreprocessing(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	args := func(epochs string, extra ...string) []string {
		return append([]string{"train", augClassifier, "-o", filepath.Join(dir, "out.onnx"), "--data", augFolder,
			"--image-size", "7", "--batch-size", "8", "--epochs", epochs, "--checkpoint", ck, "--log-level", "error"}, extra...)
	}
	if code, _, stderr := runCLI(args("1")...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	for _, changed := range [][]string{{"--crop-pct", "0.875"}, {"--mean", "0.5"}, {"--std", "0.5"}, {"--crop-pct", "0"}} {
		code, _, stderr := runCLI(args("2", append([]string{"--resume"}, changed...)...)...)
		if code == exitOK || !strings.Contains(stderr, "saved with other settings: data is") {
			t.Errorf("resume with %v: exit %d, stderr %q; want a refusal naming the data settings", changed, code, stderr)
		}
	}
	if code, _, stderr := runCLI(args("2", "--resume")...); code != exitOK {
		t.Errorf("resume with the same settings: exit %d: %s", code, stderr)
	}
}

// TestResumeComparesEffectiveRatio: a run with --scale and RandomResizedCrop's
// default ratio range resumes with that range given explicitly (the
// effective values are compared), and a refusal prints the values in
// effect, not "ratio=0,0".
func TestResumeComparesEffectiveRatio(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	args := func(epochs string, extra ...string) []string {
		return append([]string{"train", augClassifier, "-o", filepath.Join(dir, "out.onnx"), "--data", augFolder,
			"--image-size", "7", "--batch-size", "8", "--epochs", epochs, "--checkpoint", ck, "--scale", "0.5,1",
			"--log-level", "error"}, extra...)
	}
	if code, _, stderr := runCLI(args("1")...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(args("2", "--resume", "--ratio", "0.75,1.3333333333333333")...); code != exitOK {
		t.Errorf("resume with the default ratio given: exit %d: %s", code, stderr)
	}
	code, _, stderr := runCLI(args("3", "--resume", "--ratio", "0.5,1")...)
	if want := "ratio=0.75,1.3333333333333333 hflip=0 color_jitter=0 seed=0 preprocess="; code == exitOK || !strings.Contains(stderr, want) {
		t.Errorf("resume with another ratio: exit %d %q, want a refusal with %q", code, stderr, want)
	}
}
