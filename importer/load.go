package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// ErrEmpty reports an empty file or stream.
var ErrEmpty = errors.New("empty input")

// Options control Read and Decode.
type Options struct {
	// Dir is the folder external data locations are relative to. Load sets
	// it to the model's folder; with Dir empty, external data is refused.
	Dir string
	// Logger receives progress at debug level; nil discards.
	Logger logrus.FieldLogger
	// MaxBytes bounds what a model may make the importer allocate: the
	// model file, and each tensor (inline or external), checked against its
	// dims before anything is read. Over it, loading fails with an error
	// wrapping a *graph.LimitError. Zero or less means graph.DefaultMaxBytes.
	MaxBytes int64
}

// Load reads the ONNX model at path, with external data resolved in its
// folder, validates it and fills its parameter table.
func Load(path string) (*graph.Model, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with options; opts.Dir is ignored (external data is always
// resolved in the model's folder).
//
// Only a regular file is read: a FIFO, a device or a folder is refused
// without blocking, and so are side files of external data.
func LoadWith(path string, opts Options) (*graph.Model, error) {
	f, st, err := openRegular(path, path, "an .onnx file")
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	if err := graph.CheckBytes(fmt.Sprintf("model file %s", path), st.Size(), 1, opts.MaxBytes); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("importer: %s: %w", path, err)
	}
	opts.Dir = filepath.Dir(path)
	m, err := Decode(b, opts)
	if err != nil {
		return nil, fmt.Errorf("importer: %s: %w", path, err)
	}
	return m, nil
}

// Read reads a model from r. External data is resolved in opts.Dir.
func Read(r io.Reader, opts Options) (*graph.Model, error) {
	if r == nil {
		return nil, fmt.Errorf("importer: nil reader: %w", ErrEmpty)
	}
	var buf bytes.Buffer
	limit := graph.LimitBytes(opts.MaxBytes)
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("importer: %w", &graph.LimitError{What: "model stream", Bytes: int64(buf.Len()), Limit: limit})
	}
	m, err := Decode(buf.Bytes(), opts)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	return m, nil
}

// Decode parses the bytes of an .onnx file. The model may keep references to
// b; do not change b afterwards.
func Decode(b []byte, opts Options) (m *graph.Model, err error) {
	log := opts.Logger
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	if err := scan(b, kModel, 0); err != nil {
		return nil, err
	}
	var p pb.ModelProto
	if err := unmarshal(&p, b); err != nil {
		return nil, err
	}
	c := &converter{maxBytes: opts.MaxBytes}
	if opts.Dir != "" {
		c.ext = newExternalReader(opts.Dir)
		defer c.ext.close()
	}
	if m, err = c.model(&p); err != nil {
		return nil, err
	}
	if _, ok := m.OpsetVersion(""); !ok && m.IRVersion >= 3 {
		return nil, fmt.Errorf("%w: model imports no ai.onnx opset", ErrGraph)
	}
	if err := validate(m.Graph, nil); err != nil {
		return nil, err
	}
	m.BuildParams()
	log.WithField("nodes", len(m.Graph.Nodes)).WithField("params", len(m.Params)).Debug("model loaded")
	return m, nil
}

// unmarshal runs the generated decoder, turning a panic on malformed input
// into an error.
func unmarshal(p *pb.ModelProto, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrFormat, r)
		}
	}()
	if err := p.Unmarshal(b); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return nil
}

// DecodeTensor parses one serialized TensorProto (the .pb files of ONNX's
// conformance cases). Values must be inline: external data is refused.
func DecodeTensor(b []byte) (t *graph.Tensor, err error) {
	if err := scan(b, kTensor, 0); err != nil {
		return nil, err
	}
	var p pb.TensorProto
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%w: %v", ErrFormat, r)
			}
		}()
		err = p.Unmarshal(b)
	}()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	c := &converter{}
	return c.tensor(&p)
}
