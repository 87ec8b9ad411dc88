package export

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// The functions below turn IR values back into protobuf messages. A field is
// set when its value is not zero or the file had it (Explicit), so a model
// read and written unchanged has the fields it had.

func str(v string, fs graph.FieldSet, n int) *string {
	if v == "" && !fs.Has(n) {
		return nil
	}
	return &v
}

func i64(v int64, fs graph.FieldSet, n int) *int64 {
	if v == 0 && !fs.Has(n) {
		return nil
	}
	return &v
}

func i32(v int32, fs graph.FieldSet, n int) *int32 {
	if v == 0 && !fs.Has(n) {
		return nil
	}
	return &v
}

func pairs(ps []graph.StringPair) []*pb.StringStringEntryProto {
	if len(ps) == 0 {
		return nil
	}
	out := make([]*pb.StringStringEntryProto, len(ps))
	for i, p := range ps {
		out[i] = &pb.StringStringEntryProto{
			Key: str(p.Key, p.Explicit, 1), Value: str(p.Value, p.Explicit, 2),
			XXX_unrecognized: p.Unknown,
		}
	}
	return out
}

func opsets(os []graph.Opset) []*pb.OperatorSetIdProto {
	out := make([]*pb.OperatorSetIdProto, len(os))
	for i, o := range os {
		out[i] = &pb.OperatorSetIdProto{
			Domain: str(o.Domain, o.Explicit, 1), Version: i64(o.Version, o.Explicit, 2),
			XXX_unrecognized: o.Unknown,
		}
	}
	return out
}

// modelHead and modelTail hold the ModelProto fields numbered below and above
// the graph (7); the generated marshaler writes fields in ascending order, so
// head + graph + tail is the message's encoding.
func modelHead(m *graph.Model) *pb.ModelProto {
	fs := m.Explicit
	return &pb.ModelProto{
		IrVersion:       i64(m.IRVersion, fs, 1),
		ProducerName:    str(m.ProducerName, fs, 2),
		ProducerVersion: str(m.ProducerVersion, fs, 3),
		Domain:          str(m.Domain, fs, 4),
		ModelVersion:    i64(m.ModelVersion, fs, 5),
		DocString:       str(m.DocString, fs, 6),
	}
}

func modelTail(m *graph.Model) (*pb.ModelProto, error) {
	p := &pb.ModelProto{
		OpsetImport:      opsets(m.Opsets),
		MetadataProps:    pairs(m.Metadata),
		XXX_unrecognized: m.Unknown,
	}
	var err error
	if p.TrainingInfo, err = unmarshalAll[pb.TrainingInfoProto](m.TrainingInfo, "training_info"); err != nil {
		return nil, err
	}
	for i, raw := range m.Functions {
		if raw == nil && i < len(m.LocalFunctions) {
			// Surgery changed this function's body: encoded from the IR.
			fp, err := functionProto(m.LocalFunctions[i])
			if err != nil {
				return nil, err
			}
			p.Functions = append(p.Functions, fp)
			continue
		}
		fs, err := unmarshalAll[pb.FunctionProto]([][]byte{raw}, "function")
		if err != nil {
			return nil, err
		}
		p.Functions = append(p.Functions, fs...)
	}
	return p, nil
}

// functionProto encodes a local function from the IR; functions no
// surgery changed keep the bytes they were read with (Model.Functions).
func functionProto(f *graph.Function) (*pb.FunctionProto, error) {
	if f == nil {
		return nil, fmt.Errorf("function: nil")
	}
	p := &pb.FunctionProto{
		Name: &f.Name, Input: f.Inputs, Output: f.Outputs, Attribute: f.Attrs,
		OpsetImport: opsets(f.Opsets), MetadataProps: pairs(f.Metadata),
	}
	var err error
	if p.ValueInfo, err = valueInfos(f.ValueInfo, "value_info"); err != nil {
		return nil, fmt.Errorf("function %s: %w", f, err)
	}
	if f.Domain != "" {
		p.Domain = &f.Domain
	}
	if f.Overload != "" {
		p.Overload = &f.Overload
	}
	if f.DocString != "" {
		p.DocString = &f.DocString
	}
	for _, a := range f.AttrDefaults {
		ap, err := attrProto(a, nil)
		if err != nil {
			return nil, fmt.Errorf("function %s: attribute %q: %w", f, a.Name, err)
		}
		p.AttributeProto = append(p.AttributeProto, ap)
	}
	for _, n := range f.Nodes {
		np, err := nodeProto(n, nil)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", f, err)
		}
		p.Node = append(p.Node, np)
	}
	return p, nil
}

// unmarshalAll decodes each of bs as a T (what names it in errors): the
// messages the IR keeps as bytes.
func unmarshalAll[T any, P interface {
	*T
	Unmarshal([]byte) error
}](bs [][]byte, what string) ([]*T, error) {
	var out []*T
	for _, b := range bs {
		v := P(new(T))
		if err := v.Unmarshal(b); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, (*T)(v))
	}
	return out, nil
}

// convertAll converts each of xs with f.
func convertAll[S comparable, D any](xs []S, what string, ext placement, f func(S, placement) (D, error)) ([]D, error) {
	var out []D
	var none S
	for i, x := range xs {
		if x == none {
			return nil, fmt.Errorf("%s %d is nil", what, i)
		}
		y, err := f(x, ext)
		if err != nil {
			return nil, err
		}
		out = append(out, y)
	}
	return out, nil
}

// graphProto converts g. With split, nodes and initializers are left out so
// the caller can stream them (see writeGraph).
func graphProto(g *graph.Graph, ext placement) (*pb.GraphProto, error) {
	p := &pb.GraphProto{
		Name:             str(g.Name, g.Explicit, 2),
		DocString:        str(g.DocString, g.Explicit, 10),
		MetadataProps:    pairs(g.Metadata),
		XXX_unrecognized: g.Unknown,
	}
	var err error
	if p.Input, err = valueInfos(g.Inputs, "input"); err != nil {
		return nil, err
	}
	if p.Output, err = valueInfos(g.Outputs, "output"); err != nil {
		return nil, err
	}
	if p.ValueInfo, err = valueInfos(g.ValueInfo, "value_info"); err != nil {
		return nil, err
	}
	if p.SparseInitializer, err = unmarshalAll[pb.SparseTensorProto](g.SparseInitializers, "sparse initializer"); err != nil {
		return nil, err
	}
	if p.QuantizationAnnotation, err = unmarshalAll[pb.TensorAnnotation](g.QuantizationAnnotations, "quantization annotation"); err != nil {
		return nil, err
	}
	if p.Node, err = convertAll(g.Nodes, "node", ext, nodeProto); err != nil {
		return nil, err
	}
	if p.Initializer, err = convertAll(g.Initializers, "initializer", ext, tensorProto); err != nil {
		return nil, err
	}
	return p, nil
}

func nodeProto(n *graph.Node, ext placement) (*pb.NodeProto, error) {
	fs := n.Explicit
	p := &pb.NodeProto{
		Input:            n.Inputs,
		Output:           n.Outputs,
		Name:             str(n.Name, fs, 3),
		OpType:           str(n.OpType, fs, 4),
		Domain:           str(n.Domain, fs, 7),
		Overload:         str(n.Overload, fs, 8),
		DocString:        str(n.DocString, fs, 6),
		MetadataProps:    pairs(n.Metadata),
		XXX_unrecognized: n.Unknown,
	}
	for _, a := range n.Attrs {
		ap, err := attrProto(a, ext)
		if err != nil {
			return nil, fmt.Errorf("node %s: attribute %q: %w", n, a.Name, err)
		}
		p.Attribute = append(p.Attribute, ap)
	}
	return p, nil
}

func attrProto(a *graph.Attribute, ext placement) (*pb.AttributeProto, error) {
	fs := a.Explicit
	p := &pb.AttributeProto{
		Name:             str(a.Name, fs, 1),
		RefAttrName:      str(a.RefAttrName, fs, 21),
		DocString:        str(a.DocString, fs, 13),
		I:                i64(a.I, fs, 3),
		S:                a.S,
		Floats:           a.Floats,
		Ints:             a.Ints,
		Strings:          a.Strings,
		XXX_unrecognized: a.Unknown,
	}
	if a.Type != 0 || fs.Has(20) {
		t := pb.AttributeProto_AttributeType(a.Type)
		p.Type = &t
	}
	if a.F != 0 || fs.Has(2) {
		f := a.F
		p.F = &f
	}
	if fs.Has(4) && p.S == nil {
		p.S = []byte{}
	}
	var err error
	if a.T != nil {
		if p.T, err = tensorProto(a.T, ext); err != nil {
			return nil, err
		}
	}
	if p.Tensors, err = convertAll(a.Tensors, "tensor", ext, tensorProto); err != nil {
		return nil, err
	}
	if a.G != nil {
		if p.G, err = graphProto(a.G, ext); err != nil {
			return nil, err
		}
	}
	if p.Graphs, err = convertAll(a.Graphs, "graph", ext, graphProto); err != nil {
		return nil, err
	}
	if a.TP != nil {
		p.Tp = typeProto(a.TP)
	}
	for _, t := range a.TypeProtos {
		p.TypeProtos = append(p.TypeProtos, typeProto(t))
	}
	if a.SparseTensor != nil {
		var s pb.SparseTensorProto
		if err := s.Unmarshal(a.SparseTensor); err != nil {
			return nil, err
		}
		p.SparseTensor = &s
	}
	if p.SparseTensors, err = unmarshalAll[pb.SparseTensorProto](a.SparseTensors, "sparse tensor"); err != nil {
		return nil, err
	}
	return p, nil
}

func valueInfos(vs []*graph.ValueInfo, what string) ([]*pb.ValueInfoProto, error) {
	out := make([]*pb.ValueInfoProto, len(vs))
	for i, v := range vs {
		if v == nil {
			return nil, fmt.Errorf("%s %d is nil", what, i)
		}
		out[i] = &pb.ValueInfoProto{
			Name:             str(v.Name, v.Explicit, 1),
			DocString:        str(v.DocString, v.Explicit, 3),
			MetadataProps:    pairs(v.Metadata),
			XXX_unrecognized: v.Unknown,
		}
		if v.Type != nil {
			out[i].Type = typeProto(v.Type)
		}
	}
	return out, nil
}

func typeProto(t *graph.Type) *pb.TypeProto {
	p := &pb.TypeProto{Denotation: str(t.Denotation, t.Explicit, 6), XXX_unrecognized: t.Unknown}
	kfs := t.KindExplicit
	switch t.Kind {
	case graph.TypeTensor:
		p.Value = &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: i32(int32(t.Elem), kfs, 1), Shape: shapeProto(t.Shape), XXX_unrecognized: t.KindUnknown,
		}}
	case graph.TypeSparseTensor:
		p.Value = &pb.TypeProto_SparseTensorType{SparseTensorType: &pb.TypeProto_SparseTensor{
			ElemType: i32(int32(t.Elem), kfs, 1), Shape: shapeProto(t.Shape), XXX_unrecognized: t.KindUnknown,
		}}
	case graph.TypeSequence:
		s := &pb.TypeProto_Sequence{XXX_unrecognized: t.KindUnknown}
		if t.ElemType != nil {
			s.ElemType = typeProto(t.ElemType)
		}
		p.Value = &pb.TypeProto_SequenceType{SequenceType: s}
	case graph.TypeOptional:
		o := &pb.TypeProto_Optional{XXX_unrecognized: t.KindUnknown}
		if t.ElemType != nil {
			o.ElemType = typeProto(t.ElemType)
		}
		p.Value = &pb.TypeProto_OptionalType{OptionalType: o}
	case graph.TypeMap:
		mp := &pb.TypeProto_Map{KeyType: i32(int32(t.Elem), kfs, 1), XXX_unrecognized: t.KindUnknown}
		if t.ElemType != nil {
			mp.ValueType = typeProto(t.ElemType)
		}
		p.Value = &pb.TypeProto_MapType{MapType: mp}
	case graph.TypeOpaque:
		p.Value = &pb.TypeProto_OpaqueType{OpaqueType: &pb.TypeProto_Opaque{
			Domain: str(t.OpaqueDomain, kfs, 1), Name: str(t.OpaqueName, kfs, 2), XXX_unrecognized: t.KindUnknown,
		}}
	}
	return p
}

func shapeProto(s *graph.Shape) *pb.TensorShapeProto {
	if s == nil {
		return nil
	}
	p := &pb.TensorShapeProto{XXX_unrecognized: s.Unknown, Dim: make([]*pb.TensorShapeProto_Dimension, len(s.Dims))}
	for i, d := range s.Dims {
		dp := &pb.TensorShapeProto_Dimension{Denotation: str(d.Denotation, d.Explicit, 3), XXX_unrecognized: d.Unknown}
		switch {
		case d.HasValue:
			dp.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		case d.HasParam:
			dp.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		}
		p.Dim[i] = dp
	}
	return p
}

// tensorProto converts t, storing values the way the file stored them. An
// external tensor is written with the external_data entries ext gives it;
// one ext does not place (every one, when ext is nil) is written as raw_data.
func tensorProto(t *graph.Tensor, ext placement) (*pb.TensorProto, error) {
	if err := checkFill(t); err != nil {
		return nil, err
	}
	fs := t.Explicit
	p := &pb.TensorProto{
		Dims:             t.Dims,
		DataType:         i32(int32(t.DType), fs, 2),
		Name:             str(t.Name, fs, 8),
		DocString:        str(t.DocString, fs, 12),
		MetadataProps:    pairs(t.Metadata),
		XXX_unrecognized: t.Unknown,
	}
	if t.Segment != nil {
		p.Segment = &pb.TensorProto_Segment{
			Begin: i64(t.Segment.Begin, t.Segment.Explicit, 1), End: i64(t.Segment.End, t.Segment.Explicit, 2),
			XXX_unrecognized: t.Segment.Unknown,
		}
	}
	storage := t.Storage
	entries, placed := ext[t]
	if storage == graph.StorageExternal && !placed {
		storage = graph.StorageRaw
	}
	if t.DType == graph.String {
		p.StringData = t.Strings
		return p, nil
	}
	switch storage {
	case graph.StorageRaw:
		if len(t.Raw) > 0 || fs.Has(9) {
			p.RawData = t.Raw
			if p.RawData == nil {
				p.RawData = []byte{}
			}
		}
		if t.DataLocationSet && t.Storage != graph.StorageExternal {
			loc := pb.TensorProto_DEFAULT
			p.DataLocation = &loc
		}
	case graph.StorageExternal:
		p.ExternalData = pairs(entries)
		loc := pb.TensorProto_EXTERNAL
		p.DataLocation = &loc
	case graph.StorageTyped:
		if t.DataLocationSet {
			loc := pb.TensorProto_DEFAULT
			p.DataLocation = &loc
		}
		if err := rawToTyped(t, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkFill reports a tensor whose values do not fill its dims, or whose
// type ONNX does not define: ONNX Runtime refuses such a file, and the
// importer refuses to read it back, so it is not written.
func checkFill(t *graph.Tensor) error {
	if !t.DType.Known() {
		return fmt.Errorf("data type %s is not an ONNX tensor type", t.DType)
	}
	n, err := graph.NumElements(t.Dims)
	if err != nil {
		return err
	}
	if t.DType == graph.String {
		if int64(len(t.Strings)) != n {
			return fmt.Errorf("%d strings for dims %v, which need %d", len(t.Strings), t.Dims, n)
		}
		return nil
	}
	if want := t.DType.ByteLen(n); int64(len(t.Raw)) != want {
		return fmt.Errorf("%d bytes of values for %s%v, which needs %d", len(t.Raw), t.DType, t.Dims, want)
	}
	return nil
}

// rawToTyped fills the typed field the specification assigns to t's type.
func rawToTyped(t *graph.Tensor, p *pb.TensorProto) (err error) {
	r := t.Raw
	switch t.DType {
	case graph.Float32, graph.Complex64:
		p.FloatData, err = graph.Decode[float32](r)
	case graph.Float64, graph.Complex128:
		p.DoubleData, err = graph.Decode[float64](r)
	case graph.Int64:
		p.Int64Data, err = graph.Decode[int64](r)
	case graph.Uint64:
		p.Uint64Data, err = graph.Decode[uint64](r)
	case graph.Uint32:
		p.Uint64Data, err = widen[uint32, uint64](r)
	case graph.Int32:
		p.Int32Data, err = graph.Decode[int32](r)
	case graph.Int16:
		p.Int32Data, err = widen[int16, int32](r)
	case graph.Uint16, graph.Float16, graph.BFloat16:
		p.Int32Data, err = widen[uint16, int32](r)
	case graph.Int8:
		p.Int32Data, err = widen[int8, int32](r)
	default: // uint8, bool, float8 and packed sub-byte types: a byte per int32
		p.Int32Data, err = widen[uint8, int32](r)
	}
	return err
}

// widen decodes values of type S and converts each to D.
func widen[S int8 | int16 | uint8 | uint16 | uint32, D int32 | uint64](raw []byte) ([]D, error) {
	v, err := graph.Decode[S](raw)
	if err != nil {
		return nil, err
	}
	return graph.Convert[S, D](v), nil
}
