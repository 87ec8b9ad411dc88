package remap

import (
	"maps"
	"slices"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/graph/ops"
)

// The proof of DynamicBatch compares every node output of four runs (the
// model as exported at B, the rewritten model at B on two sets of examples
// and at N). Run whole, each run keeps every value of the model at once (a
// BERT-base encoder at batch 8 and 17: more than 24 GB in all). So each run
// goes span by span: a span is a run of consecutive nodes, compiled on its
// own with the values it reads from earlier spans as its graph inputs, and
// the four runs advance together, one span at a time, so that the proof
// compares a span's values and lets them go before the next span runs.
// What a run keeps between spans is only what later spans read.
//
// A value an earlier span knew at compile time (a folded shape
// computation) is given to the span as a constant (ops.Options.Constants),
// so that it folds as it does when the model is compiled whole; every
// other one is an input of the span.

// spanNodes is how many nodes of the exported model a span runs (a
// variable for the tests).
var spanNodes = 48

// spanPlan is a graph's nodes cut into spans.
type spanPlan struct {
	g      *graph.Graph
	spans  [][]*graph.Node
	reads  map[*graph.Node][]string    // the values each node reads: its inputs, then its subgraphs' outer reads
	last   map[string]int              // the last span that reads each value
	inits  map[string]*graph.Tensor    // the graph's initializers
	inputs map[string]*graph.ValueInfo // the graph's inputs
}

// planSpans cuts g's nodes into count spans, node i going to span of(i).
func planSpans(g *graph.Graph, count int, of func(i int) int) *spanPlan {
	p := &spanPlan{
		g: g, spans: make([][]*graph.Node, count), reads: make(map[*graph.Node][]string),
		last: make(map[string]int), inits: make(map[string]*graph.Tensor), inputs: make(map[string]*graph.ValueInfo),
	}
	for i, n := range g.Nodes {
		k := of(i)
		p.spans[k] = append(p.spans[k], n)
		for _, v := range n.Inputs {
			if v != "" {
				p.reads[n] = append(p.reads[n], v)
			}
		}
	}
	// Reads of subgraphs (If, Loop bodies) count as their node's, after
	// its inputs, in name order.
	cons := g.Consumers()
	var outer []string
	for v, uses := range cons {
		for _, u := range uses {
			if u.Index < 0 {
				outer = append(outer, v)
				break
			}
		}
	}
	slices.Sort(outer)
	for _, v := range outer {
		for _, u := range cons[v] {
			if u.Index < 0 && !slices.Contains(p.reads[u.Node], v) {
				p.reads[u.Node] = append(p.reads[u.Node], v)
			}
		}
	}
	for k, span := range p.spans {
		for _, n := range span {
			for _, v := range p.reads[n] {
				p.last[v] = k
			}
		}
	}
	for _, t := range g.Initializers {
		p.inits[t.Name] = t
	}
	for _, in := range g.Inputs {
		p.inputs[in.Name] = in
	}
	return p
}

// exportedSpans plans the spans of the model as exported: spanNodes nodes
// each.
func exportedSpans(g *graph.Graph) *spanPlan {
	count := max(1, (len(g.Nodes)+spanNodes-1)/spanNodes)
	return planSpans(g, count, func(i int) int { return i / spanNodes })
}

// rewrittenSpans plans the spans of c, the rewrite of the graph that orig
// planned, so that each span computes the values of the same span of orig:
// a node that is (a copy of) one of orig's, known by its outputs, goes to
// that node's span, a node the rewrite added to the span of the next node
// (it is inserted just before the node that reads it).
func rewrittenSpans(orig *spanPlan, c *graph.Graph) *spanPlan {
	spanOf := make(map[string]int)
	for k, span := range orig.spans {
		for _, n := range span {
			for _, o := range n.Outputs {
				if o != "" {
					spanOf[o] = k
				}
			}
		}
	}
	of := make([]int, len(c.Nodes))
	next := len(orig.spans) - 1
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		for _, o := range c.Nodes[i].Outputs {
			if k, ok := spanOf[o]; ok {
				next = k
				break
			}
		}
		of[i] = next
	}
	// The spans must follow the node order (a span reads values of earlier
	// ones only): they do, as the rewrite keeps orig's order; a node out of
	// it would go to the span of the node before it, not run too early.
	for i := 1; i < len(of); i++ {
		of[i] = max(of[i], of[i-1])
	}
	return planSpans(c, len(orig.spans), func(i int) int { return of[i] })
}

// split returns p with span k cut into spans of one node each.
func (p *spanPlan) split(k int) *spanPlan {
	of := make(map[*graph.Node]int, len(p.g.Nodes))
	at := 0
	for j, span := range p.spans {
		for _, n := range span {
			of[n] = at
			if j == k {
				at++
			}
		}
		if j != k || len(span) == 0 {
			at++
		}
	}
	return planSpans(p.g, at, func(i int) int { return of[p.g.Nodes[i]] })
}

// spanRun is one run of a model, span by span.
type spanRun struct {
	plan     *spanPlan
	m        *graph.Model
	maxBytes int64
	next     int                      // the span to run next
	vals     map[string]*tensor.Dense // the graph inputs, and values of spans run that a later span reads
	consts   map[string]bool          // of vals, those known at compile time
	types    map[string]graph.DType   // of vals, their element type in the model (a half type for float32 values of one: ops.Program.Types)
}

func newSpanRun(plan *spanPlan, m *graph.Model, inputs map[string]*tensor.Dense, maxBytes int64) *spanRun {
	r := &spanRun{plan: plan, m: m, maxBytes: maxBytes, vals: make(map[string]*tensor.Dense, len(inputs)),
		consts: make(map[string]bool), types: make(map[string]graph.DType)}
	for k, v := range inputs {
		r.vals[k] = v
	}
	return r
}

// snapshot copies r as it stands, to run the next spans again.
func (r *spanRun) snapshot() *spanRun {
	c := *r
	c.vals, c.consts, c.types = maps.Clone(r.vals), maps.Clone(r.consts), maps.Clone(r.types)
	return &c
}

// run runs the next span and returns its nodes' outputs by name, with the
// values in node order.
func (r *spanRun) run() (map[string]*tensor.Dense, []producedValue, error) {
	k := r.next
	r.next++
	nodes := r.plan.spans[k]
	if len(nodes) == 0 {
		return nil, nil, nil
	}
	sub := *r.plan.g
	sub.Nodes, sub.Inputs, sub.Outputs, sub.Initializers, sub.ValueInfo = nodes, nil, nil, nil, nil
	produced := make(map[string]bool)
	var order []producedValue
	for _, n := range nodes {
		for _, o := range n.Outputs {
			if o == "" || produced[o] {
				continue
			}
			produced[o] = true
			sub.Outputs = append(sub.Outputs, &graph.ValueInfo{Name: o})
			order = append(order, producedValue{o, n.Name, n.OpType})
		}
	}
	shapes := make(map[string][]int)
	feeds := make(map[string]*tensor.Dense)
	consts := make(map[string]*tensor.Dense)
	seen := make(map[string]bool)
	for _, n := range nodes {
		for _, v := range r.plan.reads[n] {
			if produced[v] || seen[v] {
				continue
			}
			seen[v] = true
			if t := r.plan.inits[v]; t != nil {
				sub.Initializers = append(sub.Initializers, t)
				continue
			}
			x, ok := r.vals[v]
			if !ok {
				continue // not computed: the span's compile names it
			}
			if in := r.plan.inputs[v]; in != nil {
				sub.Inputs = append(sub.Inputs, in)
				feeds[v], shapes[v] = x, ops.Shape(x)
				continue
			}
			rank := len(ops.Shape(x))
			sub.Inputs = append(sub.Inputs, &graph.ValueInfo{Name: v, Type: &graph.Type{
				Kind: graph.TypeTensor, Elem: r.types[v], Shape: &graph.Shape{Dims: make([]graph.Dim, rank)},
			}})
			if r.consts[v] {
				consts[v] = x
			} else {
				feeds[v], shapes[v] = x, ops.Shape(x)
			}
		}
	}
	cm := *r.m
	cm.Graph = &sub
	p, err := ops.Compile(&cm, shapes, ops.Options{MaxBytes: r.maxBytes, Constants: consts})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	outs, err := p.Run(feeds)
	if err != nil {
		return nil, nil, err
	}
	got := make(map[string]*tensor.Dense, len(outs))
	for i, o := range outs {
		name := sub.Outputs[i].Name
		got[name] = o
		if r.plan.last[name] > k {
			r.vals[name], r.consts[name], r.types[name] = o, p.Outputs[i].IsConst(), p.Types[i]
		}
	}
	for v := range r.vals {
		if r.plan.inputs[v] == nil && r.plan.last[v] <= k {
			delete(r.vals, v)
			delete(r.consts, v)
			delete(r.types, v)
		}
	}
	return got, order, nil
}
