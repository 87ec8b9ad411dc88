package importer

import (
	"fmt"

	"github.com/onnxtune/onnxtune/graph"
	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// function decodes a FunctionProto into the IR. The raw message is kept
// beside it (graph.Model.Functions), so nothing here needs to remember how
// the file wrote its fields.
func (c *converter) function(p *pb.FunctionProto) (*graph.Function, error) {
	f := &graph.Function{
		Name:      p.GetName(),
		Domain:    p.GetDomain(),
		Overload:  p.GetOverload(),
		Inputs:    p.Input,
		Outputs:   p.Output,
		Attrs:     p.Attribute,
		DocString: p.GetDocString(),
		Metadata:  pairs(p.MetadataProps),
	}
	for _, o := range p.OpsetImport {
		if o != nil {
			f.Opsets = append(f.Opsets, graph.Opset{Domain: o.GetDomain(), Version: o.GetVersion()})
		}
	}
	for _, a := range p.AttributeProto {
		if a == nil {
			continue
		}
		aa, err := c.attr(a)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.GetName(), err)
		}
		f.AttrDefaults = append(f.AttrDefaults, aa)
	}
	for i, n := range p.Node {
		if n == nil {
			continue
		}
		nn, err := c.node(n)
		if err != nil {
			return nil, fmt.Errorf("node %d %s: %w", i, nodeLabel(n), err)
		}
		f.Nodes = append(f.Nodes, nn)
	}
	var err error
	if f.ValueInfo, err = valueInfos(p.ValueInfo, "value_info"); err != nil {
		return nil, err
	}
	return f, nil
}
