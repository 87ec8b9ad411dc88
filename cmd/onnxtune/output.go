package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/onnxtune/onnxtune/export"
	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
)

// The output policy of every command that writes (convert, remap,
// replace-head, train and its --checkpoint, --metrics and --plot, run -o,
// eval --plot):
//
//   - an output never replaces a file the same run reads (the models, their
//     external data, --data, --val, --config) nor anything that is not a
//     regular file (a folder, FIFO, device or socket, or a link to one);
//     paths are compared after resolving links and with os.SameFile, so
//     "./x", "x" and a link to x are one file;
//   - a model's external tensors go to one side file named after the output,
//     OUT + ".data" (export.WriteFile), never to a location read from a
//     model; nothing but the outputs and that side file is created or
//     replaced, and two outputs of one run never share a file;
//   - all of this, and that each output's folder exists and is writable, is
//     checked before any work starts, with a one-line error naming the path.
//
// policyText is that policy as the --help of the writing commands states
// it; sideText is what a model output does with external data.
const (
	policyText = `OUT is written atomically (a temporary file renamed into place). It may
not be a file the command reads (a model, its external data, data,
config), nor a folder, FIFO, device or symbolic link (give the file a
link points to), and its folder must exist and be
writable: all of this is checked before any work starts (exit 1).`
	sideText = `A model that keeps tensors in external data is written with all of them
in one file named after OUT, OUT.data (packed from offset 0); locations
read from a model never name the files written, and nothing but OUT and
OUT.data is created or replaced.`
)

// ioFile is a file a run reads or writes, with how to name it in errors.
type ioFile struct {
	what string // "the model", "--data", "-o", ...
	path string
}

// ioCheck collects the files a run reads and writes and checks the outputs
// against the policy above before the run does its work.
type ioCheck struct {
	inputs, outputs []ioFile
	// mkdir marks outputs whose folder the run creates (--checkpoint DIR).
	mkdir map[int]bool
	// folders are those folders, which may not take the name of an output
	// or an input.
	folders []ioFile
	// sides are the names of the model outputs' side files (OUT.data),
	// reserved whether or not the run writes them.
	sides []ioFile
}

// input adds files the run reads; "" is ignored.
func (c *ioCheck) input(what string, paths ...string) {
	for _, p := range paths {
		if p != "" {
			c.inputs = append(c.inputs, ioFile{what, p})
		}
	}
}

// model adds a model the run reads from path and its external data files
// (located, as the importer reads them, in the model's folder).
func (c *ioCheck) model(what, path string, m *graph.Model) {
	c.input(what, path)
	seen := make(map[string]bool)
	var walk func(g *graph.Graph)
	add := func(t *graph.Tensor) {
		if t == nil || t.Storage != graph.StorageExternal {
			return
		}
		for _, e := range t.External {
			if e.Key == "location" && !seen[e.Value] {
				seen[e.Value] = true
				c.input(what+"'s external data", filepath.Join(filepath.Dir(path), filepath.FromSlash(e.Value)))
			}
		}
	}
	walk = func(g *graph.Graph) {
		if g == nil {
			return
		}
		for _, t := range g.Initializers {
			add(t)
		}
		for _, n := range g.Nodes {
			for _, a := range n.Attrs {
				add(a.T)
				for _, t := range a.Tensors {
					add(t)
				}
				walk(a.G)
				for _, sg := range a.Graphs {
					walk(sg)
				}
			}
		}
	}
	walk(m.Graph)
}

// output adds a file the run writes; "" (no output) is ignored.
func (c *ioCheck) output(what, path string) {
	if path != "" {
		c.outputs = append(c.outputs, ioFile{what, path})
	}
}

// modelOutput adds a model the run writes to path and, when the models its
// tensors come from (ms) keep tensors in external data, the side file
// export.WriteFile writes with it.
func (c *ioCheck) modelOutput(what, path string, ms ...*graph.Model) {
	c.output(what, path)
	if path != "" {
		c.sides = append(c.sides, ioFile{fmt.Sprintf("%s %s's external data", what, path), path + export.SideSuffix})
	}
	for _, m := range ms {
		if side := export.SidePath(path, m); side != "" && path != "" {
			c.output(fmt.Sprintf("%s %s's external data", what, path), side)
			return
		}
	}
}

// folderNames say what the folder of a flag is for, in messages.
var folderNames = map[string]string{"--checkpoint": "checkpoint", "--plot": "plot"}

// dirOutput adds a file the run writes into dir, a folder it creates when
// missing.
func (c *ioCheck) dirOutput(what, dir, path string) {
	if path == "" {
		return
	}
	if c.mkdir == nil {
		c.mkdir = make(map[int]bool)
	}
	c.mkdir[len(c.outputs)] = true
	c.output(what, path)
	c.folders = append(c.folders, ioFile{what, dir})
}

// check applies the output policy; the error names the output's path and
// what it collides with.
func (c *ioCheck) check() error {
	for _, d := range c.folders {
		for _, o := range append(slices.Clone(c.outputs), c.sides...) {
			if samePath(d.path, o.path) {
				return fmt.Errorf("%s %s is also %s %s: the %s folder may not be another output's file", d.what, d.path, o.what, o.path, folderNames[d.what])
			}
		}
		for _, in := range c.inputs {
			if samePath(d.path, in.path) {
				return fmt.Errorf("%s %s is %s %s: refusing to write into an input", d.what, d.path, in.what, in.path)
			}
		}
	}
	for i, o := range c.outputs {
		for _, in := range c.inputs {
			if samePath(o.path, in.path) {
				return fmt.Errorf("%s %s is %s %s: refusing to overwrite an input", o.what, o.path, in.what, in.path)
			}
			if within(o.path, in.path) {
				return fmt.Errorf("%s %s is inside the folder %s %s: refusing to write into an input", o.what, o.path, in.what, in.path)
			}
		}
		for _, p := range c.outputs[:i] {
			if samePath(o.path, p.path) {
				return fmt.Errorf("%s %s is also %s %s: two outputs would share one file", o.what, o.path, p.what, p.path)
			}
		}
		if err := checkOne(o, c.mkdir[i]); err != nil {
			return err
		}
	}
	for _, o := range c.sides {
		if err := notLink(o); err != nil {
			return err
		}
	}
	return nil
}

// checkOne checks one output on its own: a regular file or nothing, in a
// writable folder (with mkdir, in a folder the run can create).
func checkOne(o ioFile, mkdir bool) error {
	if err := notLink(o); err != nil {
		return err
	}
	if st, err := os.Stat(o.path); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s %s is %s, not a regular file: refusing to replace it", o.what, o.path, fsx.Kind(st.Mode()))
		}
	} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%s %s: %w", o.what, o.path, unwrapPath(err))
	}
	dir := filepath.Dir(o.path)
	if mkdir {
		// The nearest folder that exists must let the run create the rest.
		for {
			st, err := os.Stat(dir)
			if err == nil && !st.IsDir() {
				return fmt.Errorf("%s %s: %s is not a folder", o.what, o.path, dir)
			}
			if err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: folder %s does not exist", o.what, o.path, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %w", o.what, o.path, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("%s %s: %s is not a folder", o.what, o.path, dir)
	}
	// Writable as the run will write: a temporary file, removed at once.
	f, err := os.CreateTemp(dir, ".onnxtune-check-*")
	if err != nil {
		return fmt.Errorf("%s %s: folder %s is not writable: %w", o.what, o.path, dir, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// notLink refuses an output that is a symbolic link: renaming the new file
// into place would replace the link, not the file it names, so the user is
// asked to give that file instead.
func notLink(o ioFile) error {
	if st, err := os.Lstat(o.path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(o.path)
		return fmt.Errorf("%s %s is a symbolic link (to %s): refusing to replace it; give the file it points to", o.what, o.path, target)
	}
	return nil
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// messages above already name.
func unwrapPath(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolve returns path absolute and clean with the links of its folder (and
// of the path itself when it exists) resolved, so that two spellings of one
// file, existing or not, compare equal.
func resolve(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(d, filepath.Base(abs))
	}
	return abs
}

// samePath reports whether a and b name one file: the same resolved path,
// or two names (hard links) of one existing file.
func samePath(a, b string) bool {
	if resolve(a) == resolve(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// within reports whether path lies inside dir, an existing folder.
func within(path, dir string) bool {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false
	}
	rel, err := filepath.Rel(resolve(dir), resolve(path))
	return err == nil && rel != "." && filepath.IsLocal(rel) && !strings.HasPrefix(rel, "..")
}
