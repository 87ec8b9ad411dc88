package graph

// Model is an ONNX model: the ModelProto of the file.
type Model struct {
	IRVersion       int64
	Opsets          []Opset // in file order
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Metadata        []StringPair // metadata_props, in file order
	Graph           *Graph

	// Params is the parameter table: every trainable tensor and buffer under
	// its PyTorch state_dict name. It is derived from Graph and not written
	// to files: BuildParams fills it (importer.Load calls it) and Edit keeps
	// it current through every change of the graph.
	Params []*Param

	// Parts of the file the IR does not model, as raw protobuf messages.
	// Functions holds the model-local functions (FunctionProto) as the file
	// wrote them; export writes these bytes back unchanged.
	TrainingInfo [][]byte
	Functions    [][]byte

	// LocalFunctions is Functions decoded, in the same order: what the
	// engine inlines (Inlined) and the parameter table sees through. It is
	// not written: a change to a function's body does not reach the file.
	LocalFunctions []*Function

	Explicit FieldSet
	Unknown  []byte // fields this version of the schema does not know
}

// Opset is one entry of opset_import.
type Opset struct {
	Domain   string // "" and "ai.onnx" are the default domain
	Version  int64
	Explicit FieldSet
	Unknown  []byte
}

// StringPair is a StringStringEntryProto (metadata, external data).
type StringPair struct {
	Key, Value string
	Explicit   FieldSet
	Unknown    []byte
}

// OpsetVersion returns the version imported for domain ("" for ai.onnx) and
// whether the model imports it.
func (m *Model) OpsetVersion(domain string) (int64, bool) {
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version, true
		}
	}
	return 0, false
}

// MetadataValue returns the value of metadata key k.
func (m *Model) MetadataValue(k string) (string, bool) {
	for _, p := range m.Metadata {
		if p.Key == k {
			return p.Value, true
		}
	}
	return "", false
}

// Graph is a GraphProto: nodes in topological order and the named values
// between them.
type Graph struct {
	Name         string
	DocString    string
	Nodes        []*Node
	Initializers []*Tensor
	Inputs       []*ValueInfo
	Outputs      []*ValueInfo
	ValueInfo    []*ValueInfo
	Metadata     []StringPair

	SparseInitializers      [][]byte // raw SparseTensorProto messages
	QuantizationAnnotations [][]byte // raw TensorAnnotation messages

	Explicit FieldSet
	Unknown  []byte
}

// Node is one operator call.
type Node struct {
	Name      string
	OpType    string
	Domain    string
	Overload  string
	Inputs    []string // "" marks an omitted optional input
	Outputs   []string
	Attrs     []*Attribute
	DocString string
	Metadata  []StringPair

	Explicit FieldSet
	Unknown  []byte
}

// ValueInfo names a value and gives its type.
type ValueInfo struct {
	Name      string
	Type      *Type // nil when the file gives none
	DocString string
	Metadata  []StringPair

	Explicit FieldSet
	Unknown  []byte
}

// TypeKind says which member of TypeProto's oneof a Type holds.
type TypeKind int

// The kinds of TypeProto.
const (
	TypeNone TypeKind = iota
	TypeTensor
	TypeSparseTensor
	TypeSequence
	TypeMap
	TypeOptional
	TypeOpaque
)

// Type is a TypeProto. Tensor types are modeled; for the others the element
// type nests through Elem.
type Type struct {
	Kind       TypeKind
	Elem       DType  // tensor and sparse tensor element type; map key type
	Shape      *Shape // tensor and sparse tensor; nil when the shape is unknown
	ElemType   *Type  // sequence, optional, map value
	Denotation string
	// OpaqueDomain and OpaqueName describe an opaque type.
	OpaqueDomain, OpaqueName string

	Explicit     FieldSet // of the TypeProto
	KindExplicit FieldSet // of the inner message
	Unknown      []byte   // of the TypeProto
	KindUnknown  []byte   // of the inner message
}

// Shape is a TensorShapeProto. A Shape with no dims is a scalar.
type Shape struct {
	Dims    []Dim
	Unknown []byte
}

// Dim is one dimension: a value, a symbol such as "batch", or neither
// (unknown).
type Dim struct {
	Value      int64
	Param      string
	HasValue   bool
	HasParam   bool
	Denotation string
	Explicit   FieldSet
	Unknown    []byte
}

// String returns the value as text, the symbol, or "?".
func (d Dim) String() string {
	switch {
	case d.HasValue:
		return itoa(d.Value)
	case d.HasParam:
		return d.Param
	}
	return "?"
}

// TensorShape returns the element type and dims of a tensor value info, and
// false if its type is not a tensor with a known shape.
func (v *ValueInfo) TensorShape() (DType, []Dim, bool) {
	if v == nil || v.Type == nil || v.Type.Kind != TypeTensor || v.Type.Shape == nil {
		return Undefined, nil, false
	}
	return v.Type.Elem, v.Type.Shape.Dims, true
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrUndefined     AttrType = 0
	AttrFloat         AttrType = 1
	AttrInt           AttrType = 2
	AttrString        AttrType = 3
	AttrTensor        AttrType = 4
	AttrGraph         AttrType = 5
	AttrFloats        AttrType = 6
	AttrInts          AttrType = 7
	AttrStrings       AttrType = 8
	AttrTensors       AttrType = 9
	AttrGraphs        AttrType = 10
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

// Attribute is a named attribute of a node. Type says which value is used.
type Attribute struct {
	Name        string
	Type        AttrType
	RefAttrName string
	DocString   string

	F          float32
	I          int64
	S          []byte
	T          *Tensor
	G          *Graph
	TP         *Type
	Floats     []float32
	Ints       []int64
	Strings    [][]byte
	Tensors    []*Tensor
	Graphs     []*Graph
	TypeProtos []*Type

	SparseTensor  []byte   // raw SparseTensorProto
	SparseTensors [][]byte // raw SparseTensorProtos

	Explicit FieldSet
	Unknown  []byte
}

// Param is one row of the parameter table: a tensor PyTorch's state_dict holds.
type Param struct {
	Name        string  // PyTorch state_dict name, e.g. "layer1.0.conv1.weight"
	Initializer string  // the initializer that holds its values
	Value       string  // the value nodes read: Initializer, or an Identity's output when tied
	Node        string  // the node whose input recovered the name ("" if the initializer had it)
	Shape       []int64 // PyTorch's shape
	DType       DType
	Role        Role
	Transposed  bool // stored as the transpose of PyTorch's tensor (MatMul weights)
	Recovered   bool // the name came from a node's module path, not the initializer
	Tied        bool // the initializer also feeds other parameters (de-duplicated by the exporter)
	// Constant: a Constant node holds the values (Initializer names its
	// output), as some dynamo exporters store parameters; remap.LiftConstants
	// makes it an initializer, which training does first.
	Constant bool
	// View, when set, says the parameter is part of its initializer, its
	// elements in another order: a recurrent op's W, R and B hold PyTorch's
	// tensors of both directions with the gates in ONNX's order (see
	// ParamView). Shape is PyTorch's; the initializer holds more.
	View *ParamView
}

// Role is what a parameter is for.
type Role string

// Parameter roles.
const (
	RoleWeight      Role = "weight"
	RoleBias        Role = "bias"
	RoleRunningMean Role = "running_mean"
	RoleRunningVar  Role = "running_var"
	RoleBuffer      Role = "buffer"
)

// Trainable reports whether an optimizer updates a parameter of this role.
func (r Role) Trainable() bool { return r == RoleWeight || r == RoleBias }

// Param returns the parameter named name, or nil.
func (m *Model) Param(name string) *Param {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}
