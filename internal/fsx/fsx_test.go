package fsx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string // want: "" for success
	}{
		{"regular file", file, ""},
		{"FIFO", fifo, "open " + fifo + ": not a regular file (a FIFO)"},
		{"folder", dir, "open " + dir + ": not a regular file (a folder)"},
		{"character device", "/dev/null", "open /dev/null: not a regular file (a character device)"},
		{"missing", filepath.Join(dir, "x"), "open " + filepath.Join(dir, "x") + ": no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, st, err := OpenRegular(tc.path)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if st.Size() != 3 {
					t.Errorf("size %d, want 3", st.Size())
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatalf("no error, want %q", tc.want)
			}
			var pe *fs.PathError
			if err.Error() != tc.want || !errors.As(err, &pe) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q (%T), want the *fs.PathError %q", err, err, tc.want)
			}
		})
	}
}
