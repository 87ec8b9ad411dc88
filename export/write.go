package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/fsx"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// ErrModel reports a model that cannot be written as it is.
var ErrModel = errors.New("export")

// Write encodes m as an ONNX file to w. Tensors the model keeps in external
// data are written inline (raw_data); use WriteFile to keep them external.
func Write(w io.Writer, m *graph.Model) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := encode(bw, m, nil); err != nil {
		return err
	}
	return bw.Flush()
}

// Encode returns the bytes of m as an ONNX file (external tensors inline).
func Encode(m *graph.Model) ([]byte, error) {
	var b sliceWriter
	if err := encode(&b, m, nil); err != nil {
		return nil, err
	}
	return b, nil
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

// SideSuffix is what WriteFile appends to a model's path to name the one
// file that holds its external tensors.
const SideSuffix = ".data"

// SidePath returns the side file WriteFile writes for m at path: path +
// SideSuffix when m keeps tensors in external data, "" when it keeps none.
func SidePath(path string, m *graph.Model) string {
	if m == nil || m.Graph == nil || len(externals(m)) == 0 {
		return ""
	}
	return path + SideSuffix
}

// WriteFile writes m to path without ever leaving a partial file there: it
// writes a temporary file in the same folder and renames it into place.
//
// Tensors m keeps in external data all go to one side file named after
// path, SidePath(path, m) (OUT.onnx.data for OUT.onnx), one after another
// from offset 0; the written model names that file, by its base name, as
// their location. The locations, offsets and lengths the model was read
// with are never used, so a model cannot make WriteFile write anywhere but
// path and its side file; m itself is not changed. The side file is written
// the same way, before the model.
//
// WriteFile replaces only regular files: a folder, FIFO, device or socket
// at path or at the side file (or a link to one) is an error and is left as
// it was.
func WriteFile(path string, m *graph.Model) (err error) {
	if m == nil || m.Graph == nil {
		return fmt.Errorf("%w: model has no graph", ErrModel)
	}
	ts := externals(m)
	side := ""
	if len(ts) > 0 {
		side = path + SideSuffix
	}
	for _, p := range []string{path, side} {
		if err := regularOrAbsent(p); err != nil {
			return err
		}
	}
	var temps, dsts []string // temporary files and where they go
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	place := make(placement, len(ts))
	if side != "" {
		loc := filepath.Base(side)
		var off int64
		for _, t := range ts {
			// Only these three: a checksum may be stale and other keys
			// (basepath) could point elsewhere.
			place[t] = []graph.StringPair{
				{Key: "location", Value: loc},
				{Key: "offset", Value: strconv.FormatInt(off, 10)},
				{Key: "length", Value: strconv.Itoa(len(t.Raw))},
			}
			off += int64(len(t.Raw))
		}
		tmp, err := writeTemp(side, func(w io.Writer) error { return writeSide(w, ts) })
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
		dsts = append(dsts, side)
	}
	tmp, err := writeTemp(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := encode(bw, m, place); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return err
	}
	temps, dsts = append(temps, tmp), append(dsts, path)
	for i, t := range temps {
		if err := os.Rename(t, dsts[i]); err != nil {
			return fmt.Errorf("%w: %w", ErrModel, err)
		}
	}
	return nil
}

// regularOrAbsent refuses a path ("" passes) that exists and is not a
// regular file; a symbolic link is refused too, since the rename would
// replace the link rather than the file it names.
func regularOrAbsent(path string) error {
	if path == "" {
		return nil
	}
	st, err := os.Lstat(path)
	if err != nil {
		return nil // absent, or a problem writeTemp or Rename will report
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (%s): refusing to replace it", ErrModel, path, fsx.Kind(st.Mode()))
	}
	return nil
}

// writeTemp writes a file next to dst through fill and returns its name.
func writeTemp(dst string, fill func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrModel, err)
	}
	name := f.Name()
	err = fill(f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("%w: %s: %w", ErrModel, dst, err)
	}
	return name, nil
}

// placement gives the external_data entries an external tensor is written
// with; a tensor it does not place is written inline.
type placement map[*graph.Tensor][]graph.StringPair

// externals lists the tensors m keeps in external data, each once, in the
// order the file has them.
func externals(m *graph.Model) []*graph.Tensor {
	var out []*graph.Tensor
	seen := make(map[*graph.Tensor]bool)
	for _, t := range allTensors(m.Graph) {
		if t.Storage == graph.StorageExternal && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// writeSide writes the values of ts one after another.
func writeSide(w io.Writer, ts []*graph.Tensor) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, t := range ts {
		if _, err := bw.Write(t.Raw); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// allTensors lists the initializers of g and its subgraphs and the tensors of
// their attributes.
func allTensors(g *graph.Graph) []*graph.Tensor {
	out := append([]*graph.Tensor(nil), g.Initializers...)
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			if a.T != nil {
				out = append(out, a.T)
			}
			out = append(out, a.Tensors...)
			if a.G != nil {
				out = append(out, allTensors(a.G)...)
			}
			for _, sg := range a.Graphs {
				out = append(out, allTensors(sg)...)
			}
		}
	}
	return out
}

// encode streams m's encoding to w: the model's fields before the graph, the
// graph (its initializers one at a time, so the whole file is never held in
// memory twice), then the fields after it. The bytes are those the generated
// marshaler would write for the whole message.
func encode(w io.Writer, m *graph.Model, ext placement) error {
	if m == nil || m.Graph == nil {
		return fmt.Errorf("%w: model has no graph", ErrModel)
	}
	head := modelHead(m)
	tail, err := modelTail(m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	g := m.Graph
	gp, err := graphProto(&graph.Graph{
		Name: g.Name, DocString: g.DocString, Nodes: g.Nodes,
		Inputs: g.Inputs, Outputs: g.Outputs, ValueInfo: g.ValueInfo, Metadata: g.Metadata,
		SparseInitializers: g.SparseInitializers, QuantizationAnnotations: g.QuantizationAnnotations,
		Explicit: g.Explicit, Unknown: g.Unknown,
	}, ext)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	// GraphProto fields in ascending order: node (1) and name (2), then
	// initializer (5), then the rest (10 and up, unknown fields last).
	front := &pb.GraphProto{Node: gp.Node, Name: gp.Name}
	gp.Node, gp.Name = nil, nil
	inits := make([]*pb.TensorProto, len(g.Initializers))
	size := front.Size() + gp.Size()
	for i, t := range g.Initializers {
		if t == nil {
			return fmt.Errorf("%w: initializer %d is nil", ErrModel, i)
		}
		if inits[i], err = tensorProto(t, ext); err != nil {
			return fmt.Errorf("%w: initializer %q: %w", ErrModel, t.Name, err)
		}
		n := inits[i].Size()
		size += 1 + uvarintLen(uint64(n)) + n
	}
	if err := marshalTo(w, head); err != nil {
		return err
	}
	var hdr [11]byte
	hdr[0] = 7<<3 | 2
	n := 1 + binary.PutUvarint(hdr[1:], uint64(size))
	if _, err := w.Write(hdr[:n]); err != nil {
		return err
	}
	if err := marshalTo(w, front); err != nil {
		return err
	}
	var buf []byte
	for _, t := range inits {
		sz := t.Size()
		need := 11 + sz
		if cap(buf) < need {
			buf = make([]byte, need)
		}
		b := buf[:need]
		b[0] = 5<<3 | 2
		k := 1 + binary.PutUvarint(b[1:], uint64(sz))
		if _, err := t.MarshalToSizedBuffer(b[k : k+sz]); err != nil {
			return fmt.Errorf("%w: initializer %q: %w", ErrModel, t.GetName(), err)
		}
		if _, err := w.Write(b[:k+sz]); err != nil {
			return err
		}
	}
	if err := marshalTo(w, gp); err != nil {
		return err
	}
	return marshalTo(w, tail)
}

type marshaler interface{ Marshal() ([]byte, error) }

func marshalTo(w io.Writer, p marshaler) error {
	b, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrModel, err)
	}
	_, err = w.Write(b)
	return err
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
