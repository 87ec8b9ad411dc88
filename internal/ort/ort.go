package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// EnvLibrary is the environment variable that, when set, names the ONNX
// Runtime shared library to load.
const EnvLibrary = "ONNXTUNE_ORT_LIB"

// RepoLibrary is where scripts/setup.sh installs the ONNX Runtime shared
// library, relative to the repository root.
const RepoLibrary = ".cache/ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// Tensor is a named dense tensor in row-major (C) order.
//
// Data is one of []float32, []float64, []int64, []int32, []uint8, []int8,
// []bool, []graph.F16 or []graph.BF16 (a float16 or bfloat16 output must
// have a fixed shape), and holds exactly the product of Shape elements (one element for a
// scalar, whose Shape is empty).
type Tensor struct {
	Name  string
	Shape []int64
	Data  any
}

// LibraryPath returns the path of the ONNX Runtime shared library: the value
// of $ONNXTUNE_ORT_LIB when set, else RepoLibrary under the nearest enclosing
// directory of the working directory that has a go.mod and the library.
// It returns an error naming scripts/setup.sh when the library is missing.
func LibraryPath() (string, error) {
	if p := os.Getenv(EnvLibrary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ort: %s=%s: %w (run scripts/setup.sh to install ONNX Runtime)", EnvLibrary, p, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ort: %w", err)
	}
	nearest := ""
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, filepath.FromSlash(RepoLibrary))
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if nearest == "" {
				nearest = p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if nearest == "" {
		return "", fmt.Errorf("ort: ONNX Runtime library not found: %s is not set and no go.mod encloses %s; run scripts/setup.sh and set %s", EnvLibrary, wd, EnvLibrary)
	}
	return "", fmt.Errorf("ort: ONNX Runtime library not found at %s (and %s is not set); run scripts/setup.sh", nearest, EnvLibrary)
}

var (
	initOnce sync.Once
	initErr  error
)

// initialize loads the library and creates the process-wide environment,
// once. A failure is remembered and returned to every later caller.
func initialize() error {
	initOnce.Do(func() {
		path, err := LibraryPath()
		if err != nil {
			initErr = err
			return
		}
		onnxruntime.SetSharedLibraryPath(path)
		// Errors reach the caller as Go errors; ONNX Runtime's own log would
		// repeat them on stderr in colour, so only fatal messages are kept.
		if err := onnxruntime.InitializeEnvironment(onnxruntime.WithLogLevelFatal()); err != nil {
			initErr = fmt.Errorf("ort: initializing ONNX Runtime from %s: %w", path, err)
		}
	})
	return initErr
}

// Version returns the version of the loaded ONNX Runtime library, loading it
// if needed.
func Version() (string, error) {
	if err := initialize(); err != nil {
		return "", err
	}
	return onnxruntime.GetVersion(), nil
}

// Run loads the model held in memory, runs it once on inputs with the given
// number of intra-op threads (0 or less: ONNX Runtime's default) and returns
// all graph outputs in graph-output order.
func Run(model []byte, inputs []Tensor, threads int) ([]Tensor, error) {
	s, err := NewSession(model, threads)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}

// RunFile is Run for a model stored in a file. Tensors stored as external
// data next to the file are found.
func RunFile(path string, inputs []Tensor, threads int) ([]Tensor, error) {
	s, err := NewSessionFile(path, threads)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(inputs)
}

// IOInfo describes a graph input or output as ONNX Runtime sees it.
type IOInfo struct {
	Name string
	// Shape has -1 for a symbolic or unknown dimension.
	Shape []int64
	// DataType names the element type as numpy does: "float32", "int64",
	// "bool"...; other types keep ONNX Runtime's name.
	DataType string
	// Scalar is true for a tensor of rank 0.
	Scalar bool
	elem   onnxruntime.TensorElementDataType
	tensor bool
}

// Session is a model loaded once for many runs. Run may be called from many
// goroutines at once; Close must not race with Run.
type Session struct {
	s       *onnxruntime.DynamicAdvancedSession
	inputs  []IOInfo
	outputs []IOInfo
}

// NewSession loads a model held in memory, with the given number of intra-op
// threads (0 or less: ONNX Runtime's default).
func NewSession(model []byte, threads int) (*Session, error) {
	if len(model) == 0 {
		return nil, errors.New("ort: empty model")
	}
	return newSession(threads, func(opts *onnxruntime.SessionOptions) ([]onnxruntime.InputOutputInfo, []onnxruntime.InputOutputInfo, error) {
		return onnxruntime.GetInputOutputInfoWithONNXData(model)
	}, func(in, out []string, opts *onnxruntime.SessionOptions) (*onnxruntime.DynamicAdvancedSession, error) {
		return onnxruntime.NewDynamicAdvancedSessionWithONNXData(model, in, out, opts)
	})
}

// NewSessionFile loads a model from a file, with the given number of intra-op
// threads (0 or less: ONNX Runtime's default).
func NewSessionFile(path string, threads int) (*Session, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	return newSession(threads, func(opts *onnxruntime.SessionOptions) ([]onnxruntime.InputOutputInfo, []onnxruntime.InputOutputInfo, error) {
		return onnxruntime.GetInputOutputInfoWithOptions(path, opts)
	}, func(in, out []string, opts *onnxruntime.SessionOptions) (*onnxruntime.DynamicAdvancedSession, error) {
		return onnxruntime.NewDynamicAdvancedSession(path, in, out, opts)
	})
}

func newSession(threads int,
	info func(*onnxruntime.SessionOptions) ([]onnxruntime.InputOutputInfo, []onnxruntime.InputOutputInfo, error),
	create func(in, out []string, opts *onnxruntime.SessionOptions) (*onnxruntime.DynamicAdvancedSession, error),
) (*Session, error) {
	if err := initialize(); err != nil {
		return nil, err
	}
	opts, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer opts.Destroy()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, fmt.Errorf("ort: setting %d intra-op threads: %w", threads, err)
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("ort: setting inter-op threads: %w", err)
		}
	}
	ins, outs, err := info(opts)
	if err != nil {
		return nil, fmt.Errorf("ort: loading model: %w", err)
	}
	if len(outs) == 0 {
		return nil, errors.New("ort: model has no outputs")
	}
	s := &Session{inputs: convertInfo(ins), outputs: convertInfo(outs)}
	inNames := make([]string, len(ins))
	for i, in := range ins {
		inNames[i] = in.Name
	}
	outNames := make([]string, len(outs))
	for i, out := range outs {
		outNames[i] = out.Name
	}
	s.s, err = create(inNames, outNames, opts)
	if err != nil {
		return nil, fmt.Errorf("ort: loading model: %w", err)
	}
	return s, nil
}

func convertInfo(infos []onnxruntime.InputOutputInfo) []IOInfo {
	r := make([]IOInfo, len(infos))
	for i, in := range infos {
		r[i] = IOInfo{
			Name:     in.Name,
			Shape:    append([]int64{}, in.Dimensions...),
			DataType: typeName(in.DataType),
			Scalar:   in.OrtValueType == onnxruntime.ONNXTypeTensor && len(in.Dimensions) == 0,
			elem:     in.DataType,
			tensor:   in.OrtValueType == onnxruntime.ONNXTypeTensor,
		}
	}
	return r
}

// Inputs describes the inputs that Run requires, in graph order: the graph
// inputs that are not initializers. (Initializers cannot be overridden
// through this package.)
func (s *Session) Inputs() []IOInfo { return cloneInfo(s.inputs) }

// Outputs describes the model's graph outputs in graph order.
func (s *Session) Outputs() []IOInfo { return cloneInfo(s.outputs) }

func cloneInfo(in []IOInfo) []IOInfo {
	r := make([]IOInfo, len(in))
	for i, v := range in {
		v.Shape = append([]int64{}, v.Shape...)
		r[i] = v
	}
	return r
}

// Close releases the session. It is safe to call more than once.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// Run runs the model on inputs, matched by name to the inputs listed by
// Inputs (each must be given exactly once, in any order), and returns every
// graph output in graph-output order, with its name and actual shape.
func (s *Session) Run(inputs []Tensor) ([]Tensor, error) {
	if s == nil || s.s == nil {
		return nil, errors.New("ort: run on a closed session")
	}
	byName := make(map[string]int, len(inputs))
	for i, in := range inputs {
		if _, dup := byName[in.Name]; dup {
			return nil, fmt.Errorf("ort: input %q given twice", in.Name)
		}
		byName[in.Name] = i
	}
	var values []onnxruntime.Value
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for _, info := range s.inputs {
		i, ok := byName[info.Name]
		if !ok {
			return nil, fmt.Errorf("ort: missing input %q (%s %v)", info.Name, info.DataType, info.Shape)
		}
		delete(byName, info.Name)
		v, err := newValue(inputs[i])
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for name := range byName {
			extra = append(extra, name)
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("ort: the model has no input %q (its inputs: %s)", extra[0], names(s.inputs))
	}

	outs := make([]onnxruntime.Value, len(s.outputs))
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.outputs {
		// onnxruntime_go cannot turn a rank-0 tensor that ONNX Runtime
		// allocated into a Go value, so scalar outputs are allocated here.
		if info.Scalar {
			v, err := newScalar(info)
			if err != nil {
				return nil, err
			}
			outs[i] = v
		}
		if info.elem == onnxruntime.TensorElementDataTypeFloat16 || info.elem == onnxruntime.TensorElementDataTypeBFloat16 {
			v, err := newHalfOutput(info)
			if err != nil {
				return nil, err
			}
			outs[i] = v
		}
	}
	if err := s.s.Run(values, outs); err != nil {
		return nil, fmt.Errorf("ort: %w", err)
	}
	result := make([]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", s.outputs[i].Name, err)
		}
		t.Name = s.outputs[i].Name
		result[i] = t
	}
	return result, nil
}

func names(infos []IOInfo) string {
	q := make([]string, len(infos))
	for i, in := range infos {
		q[i] = fmt.Sprintf("%q", in.Name)
	}
	return strings.Join(q, ", ")
}
