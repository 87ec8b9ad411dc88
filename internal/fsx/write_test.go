package fsx

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFile checks that WriteFile replaces the file whole with mode
// 0644 and leaves no temporary file, that a failing fill leaves the old
// file as it was, and that a failed rename leaves no temporary file.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.s")
	if err := os.WriteFile(name, []byte("old contents, longer than the new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFile(name, write("new\n")); err != nil {
		t.Fatal(err)
	}
	entries := func(d string) int {
		t.Helper()
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new\n" || fi.Mode().Perm() != 0o644 || entries(dir) != 1 {
		t.Errorf("after WriteFile: contents %q, mode %v, %d entries; want %q, -rw-r--r--, 1", got, fi.Mode().Perm(), entries(dir), "new\n")
	}

	boom := errors.New("boom")
	err = WriteFile(name, func(w io.Writer) error { io.WriteString(w, "partial"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("a failing fill: error %v, want boom", err)
	}
	if got, _ := os.ReadFile(name); string(got) != "new\n" || entries(dir) != 1 {
		t.Errorf("after a failing fill: contents %q, %d entries; want the old file alone", got, entries(dir))
	}

	err = WriteFile(filepath.Join(dir, "missing", "out.s"), write("x"))
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("WriteFile into a missing folder: error %v, want a one-line error", err)
	}

	// A rename that fails (the name is a non-empty folder) leaves no
	// temporary file.
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "out.s", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(sub, "out.s"), write("x")); err == nil {
		t.Error("WriteFile over a folder: no error")
	}
	if n := entries(sub); n != 1 {
		t.Errorf("after a failed rename the folder holds %d entries, want 1", n)
	}
}
