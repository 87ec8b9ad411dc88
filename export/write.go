package export

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// ErrModel reports a model that cannot be written as it is.
var ErrModel = errors.New("export")

// Write encodes m as an ONNX file to w. Tensors the model keeps in external
// data are written inline (raw_data); use WriteFile to keep them external.
func Write(w io.Writer, m *graph.Model) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := encode(bw, m, true); err != nil {
		return err
	}
	return bw.Flush()
}

// Encode returns the bytes of m as an ONNX file (external tensors inline).
func Encode(m *graph.Model) ([]byte, error) {
	var b sliceWriter
	if err := encode(&b, m, true); err != nil {
		return nil, err
	}
	return b, nil
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) { *s = append(*s, p...); return len(p), nil }

// WriteFile writes m to path without ever leaving a partial file there: it
// writes a temporary file in the same folder and renames it into place.
// Tensors stored in external data go to their side files (their locations are
// kept, relative to path's folder), written the same way before the model.
func WriteFile(path string, m *graph.Model) (err error) {
	dir := filepath.Dir(path)
	sides, err := externalLayout(m)
	if err != nil {
		return err
	}
	var temps []string
	defer func() {
		if err != nil {
			for _, t := range temps {
				os.Remove(t)
			}
		}
	}()
	var renames [][2]string
	for _, loc := range sortedKeys(sides) {
		dst := filepath.Join(dir, filepath.FromSlash(loc))
		tmp, err := writeTemp(dst, func(w io.Writer) error { return writeSide(w, sides[loc]) })
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
		renames = append(renames, [2]string{tmp, dst})
	}
	tmp, err := writeTemp(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := encode(bw, m, false); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return err
	}
	temps = append(temps, tmp)
	renames = append(renames, [2]string{tmp, path})
	for _, r := range renames {
		if err := os.Rename(r[0], r[1]); err != nil {
			return fmt.Errorf("%w: %w", ErrModel, err)
		}
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

// extTensor is a tensor placed in a side file.
type extTensor struct {
	off int64
	raw []byte
}

// externalLayout places every external tensor in its side file: at its
// recorded offset when the recorded offsets and lengths still fit, otherwise
// one after another (and the tensor's entries are updated).
func externalLayout(m *graph.Model) (map[string][]extTensor, error) {
	byLoc := make(map[string][]*graph.Tensor)
	for _, t := range allTensors(m.Graph) {
		if t.Storage != graph.StorageExternal {
			continue
		}
		loc := entry(t.External, "location")
		if loc == "" || filepath.IsAbs(loc) || !filepath.IsLocal(filepath.FromSlash(loc)) {
			return nil, fmt.Errorf("%w: tensor %q: external location %q must be a path inside the model's folder", ErrModel, t.Name, loc)
		}
		byLoc[loc] = append(byLoc[loc], t)
	}
	out := make(map[string][]extTensor)
	for loc, ts := range byLoc {
		if placed, ok := keepOffsets(ts); ok {
			out[loc] = placed
			continue
		}
		var off int64
		var placed []extTensor
		for _, t := range ts {
			setEntry(&t.External, "offset", strconv.FormatInt(off, 10))
			setEntry(&t.External, "length", strconv.Itoa(len(t.Raw)))
			placed = append(placed, extTensor{off, t.Raw})
			off += int64(len(t.Raw))
		}
		out[loc] = placed
	}
	return out, nil
}

func keepOffsets(ts []*graph.Tensor) ([]extTensor, bool) {
	var placed []extTensor
	for _, t := range ts {
		off, err := strconv.ParseInt(entry(t.External, "offset"), 10, 64)
		if entry(t.External, "offset") == "" {
			off, err = 0, nil
		}
		if err != nil || off < 0 {
			return nil, false
		}
		if l := entry(t.External, "length"); l != "" && l != strconv.Itoa(len(t.Raw)) {
			return nil, false
		}
		placed = append(placed, extTensor{off, t.Raw})
	}
	sort.Slice(placed, func(i, j int) bool { return placed[i].off < placed[j].off })
	for i := 1; i < len(placed); i++ {
		if placed[i-1].off+int64(len(placed[i-1].raw)) > placed[i].off {
			return nil, false
		}
	}
	return placed, true
}

func writeSide(w io.Writer, ts []extTensor) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var pos int64
	zeros := make([]byte, 4096)
	for _, t := range ts {
		for pos < t.off {
			n := min(t.off-pos, int64(len(zeros)))
			if _, err := bw.Write(zeros[:n]); err != nil {
				return err
			}
			pos += n
		}
		if _, err := bw.Write(t.raw); err != nil {
			return err
		}
		pos += int64(len(t.raw))
	}
	return bw.Flush()
}

func entry(ps []graph.StringPair, k string) string {
	for _, p := range ps {
		if p.Key == k {
			return p.Value
		}
	}
	return ""
}

func setEntry(ps *[]graph.StringPair, k, v string) {
	for i := range *ps {
		if (*ps)[i].Key == k {
			(*ps)[i].Value = v
			return
		}
	}
	*ps = append(*ps, graph.StringPair{Key: k, Value: v})
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
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
func encode(w io.Writer, m *graph.Model, inline bool) error {
	if m.Graph == nil {
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
	}, inline)
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
		if inits[i], err = tensorProto(t, inline); err != nil {
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
