package ops

import (
	"runtime"
	"sync/atomic"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm"
)

// At inference, a 1x1 convolution (MobileNetV2's expansion, with its fused
// Clip) whose output only a depthwise convolution reads runs inside that
// convolution, a sample at a time (a few for small planes): the 1x1
// product of the samples into a per-core scratch buffer (block 2's is 96
// planes of 32x32, 393 kB, which stays in L2), its bias and Clip, then the
// depthwise kernels over it. The expansion's output (6.3 MB for block 2 at
// batch 16) is then never written out and read back. The expansion's node only notes its
// input when it runs; the depthwise node computes both. Each step is the
// one the two nodes run (same packed weights, k blocks and micro-kernel,
// same epilogue, same depthwise kernels), so the bits are those of the
// two nodes run apart.

// convExpand links an expansion (a) with the depthwise convolution (b)
// that reads its output.
type convExpand struct {
	aNode, bNode *graph.Node
	a            *convDims // set when a's lowering qualifies
	on           bool      // set when b's lowering qualifies too

	// What a's last run was given, kept until b runs (nil x: a ran
	// itself).
	x, w, b []float32
}

// convExpandOff turns the fusion off (tests compare it with the two
// nodes).
var convExpandOff bool

// convExpandMinPlane is the smallest plane (positions a channel) of the
// expansion's output that is fused (tests raise it to check the pair
// apart). Small planes are fused too, a few samples a task (see
// convExpandCols): on MobileNetV2 at 64x64, one thread, fusing only the
// planes of 8x8 and more made a run about 4% faster, all of them (4x4 and
// 2x2 too) about 5%; a sample a task on 4x4 and 2x2 planes made it 1.1 to
// 1.3 times slower.
var convExpandMinPlane = 1

// convExpandCols is the fewest columns (samples × positions) of a fused
// task's product, where the samples allow (two tasks a core at least):
// 64, 128 and 256 measured the same on MobileNetV2.
var convExpandCols = 64

// convExpandRuns counts the fused runs (tests check that the fusion ran).
var convExpandRuns atomic.Int64

// expandGroup is the samples of a fused task (n samples of P positions,
// workers cores): enough columns for the product's tiles where the planes
// are small (convExpandCols), at least two tasks a core, but never fewer
// columns than a tile's (colTile) where the samples allow (2x2 planes on
// two cores: 8 samples, not 4 and every tile half empty).
func expandGroup(n, P, workers, colTile int) int {
	g := max(1, min((convExpandCols+P-1)/P, n/(2*workers)))
	return max(g, min(n, (colTile+P-1)/P))
}

// expandFusions finds the 1x1 Conv nodes whose output (after the Relu or
// Clip fused into them, fused as reluFusions gives) is read only by a
// grouped Conv node as its input: it maps both nodes to their link.
// Whether the two qualify (a 1x1 product with packed weights, a depthwise
// convolution) is settled when they are lowered.
func expandFusions(g *graph.Graph, fused map[*graph.Node]*graph.Node) map[*graph.Node]*convExpand {
	uses := valueUses(g)
	producer := make(map[string]*graph.Node)
	for _, n := range g.Nodes {
		if n.QualifiedOp() != "Conv" || len(n.Outputs) != 1 || n.AttrInt("group", 1) != 1 {
			continue
		}
		out := n.Outputs[0]
		if r := fused[n]; r != nil && r != n {
			if uses[out] != 1 || len(r.Outputs) != 1 {
				continue
			}
			out = r.Outputs[0]
		}
		producer[out] = n
	}
	links := make(map[*graph.Node]*convExpand)
	for _, n := range g.Nodes {
		if n.QualifiedOp() != "Conv" || len(n.Inputs) == 0 || n.AttrInt("group", 1) == 1 {
			continue
		}
		a := producer[n.Inputs[0]]
		if a == nil || a == n || uses[n.Inputs[0]] != 1 || links[a] != nil {
			continue
		}
		f := &convExpand{aNode: a, bNode: n}
		links[a], links[n] = f, f
	}
	return links
}

// expandLower settles, in lowerConv, whether node c.Node of cd (input x)
// takes its part in its link.
func expandLower(c *Ctx, cd *convDims, x *Value) {
	f := c.expand
	if f == nil || c.Train || x.DType != graph.Float32 {
		return
	}
	switch c.Node {
	case f.aNode:
		fusedAct := c.fuseClip == nil && !c.FuseRelu || c.ReluFused
		if fusedAct && cd.packed != nil && cd.group == 1 && cd.g.pointwise() && cd.g.outSize() >= convExpandMinPlane {
			f.a, cd.expandTo = cd, f
		}
	case f.bNode:
		if f.a != nil && cd.group == cd.c && cd.m == cd.c && cd.c == f.a.m && dwPlanFor(cd) != nil {
			f.on, cd.expandFrom = true, f
		}
	}
}

// expandNote is the expansion's kernel when fused: it keeps its inputs
// for the depthwise node and reports true, or false to run itself.
func expandNote(f *convExpand, in [][]float32) bool {
	if !f.on || convExpandOff {
		return false
	}
	f.x, f.w, f.b = in[0], in[1], convOpt(in, 2)
	return true
}

// expandForward computes the depthwise convolution cd (weights w, bias b)
// of the expansion f noted into y, a sample at a time, and reports
// whether it did (false: the expansion ran itself). xb is the expansion's
// output buffer, which it fills only when the kernels cannot run fused.
func expandForward(f *convExpand, w, b []float32, cd *convDims, xb, y []float32) bool {
	if f.x == nil {
		return false
	}
	x, wa, ba := f.x, f.w, f.b
	f.x, f.w, f.b = nil, nil, nil
	a := f.a
	p := dwPlanFor(cd)
	if p == nil || convPlanesOff {
		convForward(x, wa, ba, a, xb)
		return false
	}
	P, C, M := a.g.outSize(), a.c, a.m
	spread := pointwiseSpread(ba, a)
	epi := pointwiseEpi(ba, a)
	dw := dwWeightsFor(p, w, b, cd.c)
	defer dw.release()
	per := p.steps * p.cstep * p.pout // a sample's outputs
	chunk := max(1, convActivateBlock/(p.cstep*p.pout))
	_ = x[a.n*C*P-1]
	_ = y[cd.n*per-1]
	g := expandGroup(cd.n, P, runtime.GOMAXPROCS(0), a.packed.ColTile())
	tasks := (cd.n + g - 1) / g
	task := func(t int) {
		s0, s1 := t*g, min(cd.n, (t+1)*g)
		e := getScratch[float32]((s1 - s0) * M * P)
		defer putScratch(e)
		// The bias and Clip in the product's kernel, or (no such
		// kernel, or an exact hit of a Clip bound to record) the product
		// and the epilogue pass.
		ran, hit := false, false
		if epi != nil {
			ran, hit = a.packed.SgemmPlanesRowsEpi(0, M, s1-s0, P, x[s0*C*P:], C*P, e, M*P, epi)
		}
		if !ran || hit {
			a.packed.SgemmPlanesRows(0, M, s1-s0, P, x[s0*C*P:], C*P, e, M*P)
			for k := range s1 - s0 {
				pointwiseEpilogue(e[k*M*P:(k+1)*M*P], ba, spread, a, 0, M)
			}
		}
		// In chunks of units as dwForward's tasks, so that an exact hit
		// of the fused Clip clamps one chunk again, not the samples.
		units := (s1 - s0) * p.steps
		ys := y[s0*per : s1*per]
		for u := 0; u < units; u += chunk {
			dwUnits(p, cd, e, ys, &dw, u, min(units, u+chunk))
		}
	}
	convExpandRuns.Add(1)
	if runtime.GOMAXPROCS(0) == 1 || tasks == 1 {
		for t := range tasks {
			task(t)
		}
		return true
	}
	gemm.Parallel(tasks, task)
	return true
}
