package main

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/remap"
)

func (a *app) inspectCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a model's inputs, outputs, ops and parameters",
		Long: `Inspect loads an ONNX model and prints what it holds: IR version, producer,
opsets, the inputs and outputs with element type and dims (symbolic dims by
name, "?" when unknown), how many nodes of each op it has, and its parameter
table: every tensor PyTorch's state_dict holds, under its PyTorch name, with
PyTorch's shape, element type, role (weight, bias, running_mean, running_var,
buffer) and the initializer it comes from. Notes mark parameters stored
transposed (MatMul weights), names recovered from node names ("onnx::Conv_12"
read by /conv1/Conv is conv1.weight), initializers shared by several
parameters (tied), parameters a dynamo export holds in Constant nodes
(constant; training makes them initializers) and zero biases the dynamo
exporter's optimizer dropped as no-ops, which training restores (restored).
Totals count the elements of trainable parameters (weights and biases) and
of buffers: for a PyTorch export, the parameter count is
sum(p.numel() for p in model.parameters()).

Warnings name what training cannot reach: a parameter that a dynamo export's
program lists but the exporter folded into a constant or removed (a zero
bias, say), a float tensor that looks like a weight but belongs to no
PyTorch parameter, and BatchNorm folded into the Conv weights of an eval
export.

With --json it prints one JSON object with the keys ir_version, producer,
opsets, inputs, outputs, ops, parameters, parameter_count, warnings and
tied_aliases (a dynamo export's other names of parameters PyTorch ties,
such as an Embedding's weight that is also the head's).`,
		Example: `  onnxtune inspect models/lenet.onnx
  onnxtune inspect --json models/lenet.onnx | jq .parameters
  onnxtune inspect --json models/bn_cnn_eval.onnx | jq '.parameters[] | select(.recovered)'`,
		Args: positional("MODEL"),
		RunE: work(func(_ *cobra.Command, args []string) error {
			m, err := a.load(args[0])
			if err != nil {
				return err
			}
			// Zero biases the exporter's optimizer dropped are listed as
			// training restores them (remap.RestoreBiases); constants it
			// folded from a parameter broadcast are computed from it, as
			// training does (remap.RefoldConstants).
			restored, err := remap.RestoreBiases(m)
			if err != nil {
				return err
			}
			if _, err := remap.RefoldConstants(m); err != nil {
				return err
			}
			a.log.WithField("path", args[0]).WithField("nodes", len(m.Graph.Nodes)).
				WithField("params", len(m.Params)).Debug("model loaded")
			s := summarize(m, restored)
			if asJSON {
				return writeJSON(a.stdout, s)
			}
			return s.writeText(a.stdout, args[0])
		}),
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of text")
	return c
}

// summary is what inspect prints; its JSON form is the --json output.
type summary struct {
	IRVersion      int64            `json:"ir_version"`
	Producer       string           `json:"producer"`
	Opsets         map[string]int64 `json:"opsets"`
	Inputs         []valueSummary   `json:"inputs"`
	Outputs        []valueSummary   `json:"outputs"`
	Ops            map[string]int   `json:"ops"`
	Parameters     []paramSummary   `json:"parameters"`
	ParameterCount int64            `json:"parameter_count"`
	Warnings       []string         `json:"warnings"`
	TiedAliases    []string         `json:"tied_aliases"`

	opsetOrder   []string // domains in file order, for text
	bufferCount  int64    // elements of buffers (running stats, ...)
	trainable    int      // tensors counted in ParameterCount
	buffers      int      // tensors counted in bufferCount
	initializers int
}

// valueSummary is a graph input or output. Shape holds int64 for known dims,
// the symbol for symbolic ones and "?" for unknown ones; it is nil when the
// rank is unknown.
type valueSummary struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []any  `json:"shape"`
}

type paramSummary struct {
	Name        string  `json:"name"`
	Shape       []int64 `json:"shape"`
	DType       string  `json:"dtype"`
	Role        string  `json:"role"`
	Initializer string  `json:"initializer"`
	Transposed  bool    `json:"transposed"`
	Recovered   bool    `json:"recovered"`
	Tied        bool    `json:"tied"`
	Constant    bool    `json:"constant"`
	Restored    bool    `json:"restored"`
}

func summarize(m *graph.Model, restored []string) *summary {
	g := m.Graph
	s := &summary{
		IRVersion:    m.IRVersion,
		Producer:     strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		Opsets:       make(map[string]int64),
		Warnings:     nonNil(append(m.ParamWarnings(), nonEmpty(remap.FusedBatchNorm(m))...)),
		TiedAliases:  nonNil(m.TiedAliases()),
		Inputs:       []valueSummary{},
		Outputs:      []valueSummary{},
		Ops:          g.OpCounts(),
		Parameters:   []paramSummary{},
		initializers: len(g.Initializers),
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		if _, dup := s.Opsets[d]; !dup {
			s.opsetOrder = append(s.opsetOrder, d)
		}
		s.Opsets[d] = o.Version
	}
	for _, v := range g.Inputs {
		if g.Initializer(v.Name) != nil {
			continue // an initializer listed as input (IR < 4): a parameter, not a feed
		}
		s.Inputs = append(s.Inputs, describeValue(v))
	}
	for _, v := range g.Outputs {
		s.Outputs = append(s.Outputs, describeValue(v))
	}
	for _, p := range m.Params {
		shape := append([]int64{}, p.Shape...)
		s.Parameters = append(s.Parameters, paramSummary{
			Name: p.Name, Shape: shape, DType: p.DType.String(), Role: string(p.Role),
			Initializer: p.Initializer, Transposed: p.Transposed, Recovered: p.Recovered, Tied: p.Tied, Constant: p.Constant,
			Restored: slices.Contains(restored, p.Name),
		})
		n, err := graph.NumElements(p.Shape)
		if err != nil {
			n = 0 // the importer validated dims; count nothing rather than garbage
		}
		if p.Role.Trainable() {
			s.ParameterCount += n
			s.trainable++
		} else {
			s.bufferCount += n
			s.buffers++
		}
	}
	return s
}

var kindNames = map[graph.TypeKind]string{
	graph.TypeSequence: "sequence", graph.TypeMap: "map",
	graph.TypeOptional: "optional", graph.TypeOpaque: "opaque",
}

func describeValue(v *graph.ValueInfo) valueSummary {
	d := valueSummary{Name: v.Name, DType: "?"}
	t := v.Type
	switch {
	case t == nil:
	case t.Kind == graph.TypeTensor || t.Kind == graph.TypeSparseTensor:
		d.DType = t.Elem.String()
		if t.Kind == graph.TypeSparseTensor {
			d.DType = "sparse " + d.DType
		}
		if t.Shape != nil {
			d.Shape = []any{}
			for _, dim := range t.Shape.Dims {
				if dim.HasValue {
					d.Shape = append(d.Shape, dim.Value)
				} else {
					d.Shape = append(d.Shape, dim.String())
				}
			}
		}
	default:
		if k, ok := kindNames[t.Kind]; ok {
			d.DType = k
		}
	}
	return d
}

// writeText prints s for people, path being the file it describes.
func (s *summary) writeText(w io.Writer, path string) error {
	var buf bytes.Buffer
	if err := s.formatText(&buf, path); err != nil {
		return err
	}
	_, err := w.Write(trimLines(buf.Bytes()))
	return err
}

// trimLines removes the spaces tabwriter leaves at the end of lines.
func trimLines(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " ")
	}
	return bytes.Join(lines, []byte("\n"))
}

func (s *summary) formatText(w io.Writer, path string) error {
	tw := newTable(w)
	var opsets []string
	for _, d := range s.opsetOrder {
		opsets = append(opsets, fmt.Sprintf("%s %d", d, s.Opsets[d]))
	}
	producer := s.Producer
	if producer == "" {
		producer = "(none)"
	}
	fmt.Fprintf(tw, "model\t%s\n", path)
	fmt.Fprintf(tw, "ir_version\t%d\n", s.IRVersion)
	fmt.Fprintf(tw, "producer\t%s\n", producer)
	fmt.Fprintf(tw, "opsets\t%s\n", strings.Join(opsets, ", "))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(tw, "\ninputs\n")
	for _, v := range s.Inputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.DType, formatShape(v.Shape))
	}
	fmt.Fprintf(tw, "outputs\n")
	for _, v := range s.Outputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.DType, formatShape(v.Shape))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	ops := make([]string, 0, len(s.Ops))
	nodes := 0
	for op, n := range s.Ops {
		ops = append(ops, op)
		nodes += n
	}
	sort.Slice(ops, func(i, j int) bool {
		if s.Ops[ops[i]] != s.Ops[ops[j]] {
			return s.Ops[ops[i]] > s.Ops[ops[j]]
		}
		return ops[i] < ops[j]
	})
	fmt.Fprintf(tw, "\nops (%d nodes)\n", nodes)
	for _, op := range ops {
		fmt.Fprintf(tw, "  %s\t%d\n", op, s.Ops[op])
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(tw, "\nparameters\n")
	if len(s.Parameters) == 0 {
		fmt.Fprintf(tw, "  (none)\n")
	} else {
		fmt.Fprintf(tw, "  NAME\tSHAPE\tDTYPE\tROLE\tINITIALIZER\tNOTES\n")
	}
	for _, p := range s.Parameters {
		var notes []string
		if p.Transposed {
			notes = append(notes, "transposed")
		}
		if p.Recovered {
			notes = append(notes, "recovered")
		}
		if p.Tied {
			notes = append(notes, "tied")
		}
		if p.Constant {
			notes = append(notes, "constant")
		}
		if p.Restored {
			notes = append(notes, "restored")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", p.Name, formatDims(p.Shape), p.DType, p.Role,
			p.Initializer, strings.Join(notes, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(tw, "\ntotals\n")
	fmt.Fprintf(tw, "  parameters\t%d\telements in %d tensors (weights and biases)\n", s.ParameterCount, s.trainable)
	fmt.Fprintf(tw, "  buffers\t%d\telements in %d tensors\n", s.bufferCount, s.buffers)
	fmt.Fprintf(tw, "  tensors\t%d\tparameters and buffers, in %d initializers\n", len(s.Parameters), s.initializers)
	if len(s.TiedAliases) > 0 {
		fmt.Fprintf(tw, "\ntied names (PyTorch ties them to parameters above; the program reads each under one name)\n  %s\n", strings.Join(s.TiedAliases, ", "))
	}
	if len(s.Warnings) > 0 {
		fmt.Fprintf(tw, "\nwarnings\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(tw, "  %s\n", w)
		}
	}
	return tw.Flush()
}

func formatShape(dims []any) string {
	if dims == nil {
		return "(unknown shape)"
	}
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func formatDims(dims []int64) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// nonEmpty is a list of w, or none when w is "".
func nonEmpty(w string) []string {
	if w == "" {
		return nil
	}
	return []string{w}
}
