package graph

// Function is a model-local function (FunctionProto): a named body of nodes
// that nodes of the graph call like an op, by domain, name and overload.
// torch.onnx.dynamo_export (PyTorch 2.1 to 2.4) wraps every module in one
// (domain "pkg.torch.2.4.0+cu121"), and its op library in more
// ("pkg.onnxscript.torch_lib"); PyTorch 1.13 writes them with
// export_modules_as_functions.
//
// The importer decodes each function of the file into one (Model.LocalFunctions);
// the engine runs a model through Model.Inlined, where every call is
// replaced by its body.
type Function struct {
	Name     string
	Domain   string
	Overload string
	Inputs   []string // formal inputs, in order
	Outputs  []string // formal outputs, in order
	// Attrs names the attributes declared without a default (attribute);
	// AttrDefaults holds those declared with one (attribute_proto), the
	// default being the attribute's value.
	Attrs        []string
	AttrDefaults []*Attribute
	Nodes        []*Node // the body; its names are local to the function
	Opsets       []Opset // the function's own opset_import
	ValueInfo    []*ValueInfo
	DocString    string
	Metadata     []StringPair
}

// String names the function as a node that calls it is named by
// Node.QualifiedOp ("pkg.torch.2.4.0+cu121.torch_nn_modules_linear_Linear_fc0_1"),
// with ":overload" when it has one.
func (f *Function) String() string {
	s := (&Node{OpType: f.Name, Domain: f.Domain}).QualifiedOp()
	if f.Overload != "" {
		s += ":" + f.Overload
	}
	return s
}

// Default returns the default of attribute name, or nil when the function
// declares none.
func (f *Function) Default(name string) *Attribute {
	for _, a := range f.AttrDefaults {
		if a != nil && a.Name == name {
			return a
		}
	}
	return nil
}

// funcKey identifies a function the way a node calls it.
type funcKey struct{ domain, name, overload string }

func keyOf(domain, name, overload string) funcKey {
	if domain == "ai.onnx" {
		domain = ""
	}
	return funcKey{domain, name, overload}
}

// Function returns the local function node n calls, or nil when n calls an
// op (or a function the model does not define).
func (m *Model) Function(n *Node) *Function {
	k := keyOf(n.Domain, n.OpType, n.Overload)
	for _, f := range m.LocalFunctions {
		if f != nil && keyOf(f.Domain, f.Name, f.Overload) == k {
			return f
		}
	}
	return nil
}
