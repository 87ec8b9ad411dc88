package importer

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// converter turns the decoded protobuf into the IR. Tensor decoding needs the
// folder for external data, so it carries the loader's state.
type converter struct {
	ext      *externalReader
	maxBytes int64 // Options.MaxBytes: bound on each tensor
}

// explicit returns fs with field n added when the pointer p is set to its zero
// value, so export can write it back.
func explicitStr(fs graph.FieldSet, n int, p *string) graph.FieldSet {
	if p != nil && *p == "" {
		return fs.With(n)
	}
	return fs
}

func explicitInt(fs graph.FieldSet, n int, p *int64) graph.FieldSet {
	if p != nil && *p == 0 {
		return fs.With(n)
	}
	return fs
}

func explicitI32(fs graph.FieldSet, n int, p *int32) graph.FieldSet {
	if p != nil && *p == 0 {
		return fs.With(n)
	}
	return fs
}

func (c *converter) model(p *pb.ModelProto) (*graph.Model, error) {
	m := &graph.Model{
		IRVersion:       p.GetIrVersion(),
		ProducerName:    p.GetProducerName(),
		ProducerVersion: p.GetProducerVersion(),
		Domain:          p.GetDomain(),
		ModelVersion:    p.GetModelVersion(),
		DocString:       p.GetDocString(),
		Metadata:        pairs(p.MetadataProps),
		Unknown:         p.XXX_unrecognized,
	}
	fs := explicitInt(0, 1, p.IrVersion)
	fs = explicitStr(fs, 2, p.ProducerName)
	fs = explicitStr(fs, 3, p.ProducerVersion)
	fs = explicitStr(fs, 4, p.Domain)
	fs = explicitInt(fs, 5, p.ModelVersion)
	m.Explicit = explicitStr(fs, 6, p.DocString)
	for _, o := range p.OpsetImport {
		if o == nil {
			continue
		}
		ofs := explicitStr(0, 1, o.Domain)
		m.Opsets = append(m.Opsets, graph.Opset{
			Domain: o.GetDomain(), Version: o.GetVersion(),
			Explicit: explicitInt(ofs, 2, o.Version), Unknown: o.XXX_unrecognized,
		})
	}
	for _, t := range p.TrainingInfo {
		b, err := t.Marshal()
		if err != nil {
			return nil, err
		}
		m.TrainingInfo = append(m.TrainingInfo, b)
	}
	for _, f := range p.Functions {
		b, err := f.Marshal()
		if err != nil {
			return nil, err
		}
		m.Functions = append(m.Functions, b)
		fn, err := c.function(f)
		if err != nil {
			return nil, fmt.Errorf("function %q: %w", (&graph.Function{Name: f.GetName(), Domain: f.GetDomain(), Overload: f.GetOverload()}).String(), err)
		}
		m.LocalFunctions = append(m.LocalFunctions, fn)
	}
	if p.Graph == nil {
		return nil, fmt.Errorf("model has no graph")
	}
	g, err := c.graph(p.Graph)
	if err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

func pairs(ps []*pb.StringStringEntryProto) []graph.StringPair {
	if len(ps) == 0 {
		return nil
	}
	out := make([]graph.StringPair, 0, len(ps))
	for _, p := range ps {
		if p == nil {
			continue
		}
		fs := explicitStr(0, 1, p.Key)
		out = append(out, graph.StringPair{
			Key: p.GetKey(), Value: p.GetValue(),
			Explicit: explicitStr(fs, 2, p.Value), Unknown: p.XXX_unrecognized,
		})
	}
	return out
}

func (c *converter) graph(p *pb.GraphProto) (*graph.Graph, error) {
	g := &graph.Graph{
		Name:      p.GetName(),
		DocString: p.GetDocString(),
		Metadata:  pairs(p.MetadataProps),
		Unknown:   p.XXX_unrecognized,
	}
	fs := explicitStr(0, 2, p.Name)
	g.Explicit = explicitStr(fs, 10, p.DocString)
	for _, t := range p.Initializer {
		tt, err := c.tensor(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.GetName(), err)
		}
		g.Initializers = append(g.Initializers, tt)
	}
	for _, s := range p.SparseInitializer {
		b, err := s.Marshal()
		if err != nil {
			return nil, err
		}
		g.SparseInitializers = append(g.SparseInitializers, b)
	}
	for _, q := range p.QuantizationAnnotation {
		b, err := q.Marshal()
		if err != nil {
			return nil, err
		}
		g.QuantizationAnnotations = append(g.QuantizationAnnotations, b)
	}
	var err error
	if g.Inputs, err = valueInfos(p.Input, "input"); err != nil {
		return nil, err
	}
	if g.Outputs, err = valueInfos(p.Output, "output"); err != nil {
		return nil, err
	}
	if g.ValueInfo, err = valueInfos(p.ValueInfo, "value_info"); err != nil {
		return nil, err
	}
	for i, n := range p.Node {
		if n == nil {
			continue
		}
		nn, err := c.node(n)
		if err != nil {
			return nil, fmt.Errorf("node %d %s: %w", i, nodeLabel(n), err)
		}
		g.Nodes = append(g.Nodes, nn)
	}
	return g, nil
}

func nodeLabel(n *pb.NodeProto) string {
	return (&graph.Node{Name: n.GetName(), OpType: n.GetOpType(), Outputs: n.Output}).String()
}

func (c *converter) node(p *pb.NodeProto) (*graph.Node, error) {
	n := &graph.Node{
		Name:      p.GetName(),
		OpType:    p.GetOpType(),
		Domain:    p.GetDomain(),
		Overload:  p.GetOverload(),
		Inputs:    p.Input,
		Outputs:   p.Output,
		DocString: p.GetDocString(),
		Metadata:  pairs(p.MetadataProps),
		Unknown:   p.XXX_unrecognized,
	}
	fs := explicitStr(0, 3, p.Name)
	fs = explicitStr(fs, 4, p.OpType)
	fs = explicitStr(fs, 7, p.Domain)
	fs = explicitStr(fs, 8, p.Overload)
	n.Explicit = explicitStr(fs, 6, p.DocString)
	for _, a := range p.Attribute {
		if a == nil {
			continue
		}
		aa, err := c.attr(a)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.GetName(), err)
		}
		n.Attrs = append(n.Attrs, aa)
	}
	return n, nil
}

func (c *converter) attr(p *pb.AttributeProto) (*graph.Attribute, error) {
	a := &graph.Attribute{
		Name:        p.GetName(),
		Type:        graph.AttrType(p.GetType()),
		RefAttrName: p.GetRefAttrName(),
		DocString:   p.GetDocString(),
		F:           p.GetF(),
		I:           p.GetI(),
		S:           p.S,
		Floats:      p.Floats,
		Ints:        p.Ints,
		Strings:     p.Strings,
		Unknown:     p.XXX_unrecognized,
	}
	fs := explicitStr(0, 1, p.Name)
	fs = explicitStr(fs, 21, p.RefAttrName)
	fs = explicitStr(fs, 13, p.DocString)
	if p.Type != nil && *p.Type == 0 {
		fs = fs.With(20)
	}
	if p.F != nil && *p.F == 0 {
		fs = fs.With(2)
	}
	fs = explicitInt(fs, 3, p.I)
	if p.S != nil && len(p.S) == 0 {
		fs = fs.With(4)
	}
	a.Explicit = fs
	var err error
	if p.T != nil {
		if a.T, err = c.tensor(p.T); err != nil {
			return nil, err
		}
	}
	for _, t := range p.Tensors {
		tt, err := c.tensor(t)
		if err != nil {
			return nil, err
		}
		a.Tensors = append(a.Tensors, tt)
	}
	if p.G != nil {
		if a.G, err = c.graph(p.G); err != nil {
			return nil, fmt.Errorf("subgraph: %w", err)
		}
	}
	for _, g := range p.Graphs {
		gg, err := c.graph(g)
		if err != nil {
			return nil, fmt.Errorf("subgraph: %w", err)
		}
		a.Graphs = append(a.Graphs, gg)
	}
	if p.Tp != nil {
		if a.TP, err = typeOf(p.Tp); err != nil {
			return nil, err
		}
	}
	for _, t := range p.TypeProtos {
		tt, err := typeOf(t)
		if err != nil {
			return nil, err
		}
		a.TypeProtos = append(a.TypeProtos, tt)
	}
	if p.SparseTensor != nil {
		if a.SparseTensor, err = p.SparseTensor.Marshal(); err != nil {
			return nil, err
		}
	}
	for _, s := range p.SparseTensors {
		b, err := s.Marshal()
		if err != nil {
			return nil, err
		}
		a.SparseTensors = append(a.SparseTensors, b)
	}
	return a, nil
}

func valueInfos(ps []*pb.ValueInfoProto, what string) ([]*graph.ValueInfo, error) {
	var out []*graph.ValueInfo
	for _, p := range ps {
		if p == nil {
			continue
		}
		v := &graph.ValueInfo{
			Name: p.GetName(), DocString: p.GetDocString(),
			Metadata: pairs(p.MetadataProps), Unknown: p.XXX_unrecognized,
		}
		fs := explicitStr(0, 1, p.Name)
		v.Explicit = explicitStr(fs, 3, p.DocString)
		if p.Type != nil {
			t, err := typeOf(p.Type)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", what, p.GetName(), err)
			}
			v.Type = t
		}
		out = append(out, v)
	}
	return out, nil
}

func elemType(p *int32) (graph.DType, error) {
	if p == nil {
		return graph.Undefined, nil
	}
	d := graph.DType(*p)
	if d != graph.Undefined && !d.Known() {
		return 0, fmt.Errorf("unknown element type %d", *p)
	}
	return d, nil
}

func typeOf(p *pb.TypeProto) (*graph.Type, error) {
	t := &graph.Type{Denotation: p.GetDenotation(), Unknown: p.XXX_unrecognized}
	t.Explicit = explicitStr(0, 6, p.Denotation)
	var err error
	switch v := p.Value.(type) {
	case nil:
		t.Kind = graph.TypeNone
	case *pb.TypeProto_TensorType:
		t.Kind = graph.TypeTensor
		if v.TensorType == nil {
			break
		}
		tt := v.TensorType
		t.KindUnknown = tt.XXX_unrecognized
		t.KindExplicit = explicitI32(0, 1, tt.ElemType)
		if t.Elem, err = elemType(tt.ElemType); err != nil {
			return nil, err
		}
		t.Shape = shapeOf(tt.Shape)
	case *pb.TypeProto_SparseTensorType:
		t.Kind = graph.TypeSparseTensor
		if v.SparseTensorType == nil {
			break
		}
		tt := v.SparseTensorType
		t.KindUnknown = tt.XXX_unrecognized
		t.KindExplicit = explicitI32(0, 1, tt.ElemType)
		if t.Elem, err = elemType(tt.ElemType); err != nil {
			return nil, err
		}
		t.Shape = shapeOf(tt.Shape)
	case *pb.TypeProto_SequenceType:
		t.Kind = graph.TypeSequence
		if v.SequenceType == nil {
			break
		}
		t.KindUnknown = v.SequenceType.XXX_unrecognized
		if e := v.SequenceType.ElemType; e != nil {
			if t.ElemType, err = typeOf(e); err != nil {
				return nil, err
			}
		}
	case *pb.TypeProto_OptionalType:
		t.Kind = graph.TypeOptional
		if v.OptionalType == nil {
			break
		}
		t.KindUnknown = v.OptionalType.XXX_unrecognized
		if e := v.OptionalType.ElemType; e != nil {
			if t.ElemType, err = typeOf(e); err != nil {
				return nil, err
			}
		}
	case *pb.TypeProto_MapType:
		t.Kind = graph.TypeMap
		if v.MapType == nil {
			break
		}
		mt := v.MapType
		t.KindUnknown = mt.XXX_unrecognized
		t.KindExplicit = explicitI32(0, 1, mt.KeyType)
		if t.Elem, err = elemType(mt.KeyType); err != nil {
			return nil, err
		}
		if mt.ValueType != nil {
			if t.ElemType, err = typeOf(mt.ValueType); err != nil {
				return nil, err
			}
		}
	case *pb.TypeProto_OpaqueType:
		t.Kind = graph.TypeOpaque
		if v.OpaqueType == nil {
			break
		}
		o := v.OpaqueType
		t.KindUnknown = o.XXX_unrecognized
		t.OpaqueDomain, t.OpaqueName = o.GetDomain(), o.GetName()
		fs := explicitStr(0, 1, o.Domain)
		t.KindExplicit = explicitStr(fs, 2, o.Name)
	}
	return t, nil
}

func shapeOf(p *pb.TensorShapeProto) *graph.Shape {
	if p == nil {
		return nil
	}
	s := &graph.Shape{Dims: make([]graph.Dim, 0, len(p.Dim)), Unknown: p.XXX_unrecognized}
	for _, d := range p.Dim {
		if d == nil {
			continue
		}
		dd := graph.Dim{Denotation: d.GetDenotation(), Unknown: d.XXX_unrecognized}
		dd.Explicit = explicitStr(0, 3, d.Denotation)
		switch v := d.Value.(type) {
		case *pb.TensorShapeProto_Dimension_DimValue:
			dd.Value, dd.HasValue = v.DimValue, true
		case *pb.TensorShapeProto_Dimension_DimParam:
			dd.Param, dd.HasParam = v.DimParam, true
		}
		s.Dims = append(s.Dims, dd)
	}
	return s
}
