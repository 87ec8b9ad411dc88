package ops

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/internal/gemm/vec"
)

// registerNorm adds BatchNormalization and LayerNormalization.
func registerNorm(r *Registry) {
	r.add(OpInfo{Name: "BatchNormalization", Differentiable: true, Lower: lowerBatchNorm,
		FusesRelu: true, Inference: batchNormInference, Params: []graph.ParamSlot{
			{Input: 1, Suffix: "weight"}, {Input: 2, Suffix: "bias"},
			{Input: 3, Suffix: "running_mean"}, {Input: 4, Suffix: "running_var"},
		}})
	r.add(OpInfo{Name: "LayerNormalization", Differentiable: true, Lower: lowerLayerNorm, Params: weightBias})
}

// batchNormInference: a training-mode BatchNormalization keeps only its
// first output (so it uses the running statistics) and loses
// training_mode. Refused when the graph reads the statistics outputs.
func batchNormInference(n *graph.Node, read func(string) bool) (func() []string, error) {
	for _, o := range n.Outputs[min(1, len(n.Outputs)):] {
		if o != "" && read(o) {
			return nil, fmt.Errorf("its running statistics output %q is read by the graph", o)
		}
	}
	if len(n.Outputs) <= 1 && n.Attr("training_mode") == nil {
		return nil, nil
	}
	if len(n.Outputs) == 0 {
		return nil, fmt.Errorf("it has no output (training_mode set)")
	}
	return func() []string {
		n.Outputs = n.Outputs[:1]
		removeAttr(n, "training_mode")
		return nil
	}, nil
}

// normByType picks the float32 or float64 form of a kernel by the type of
// its first input.
func normByType(name string, f32, f64 Kernel) Kernel {
	run := floats(f32, f64)
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		out, err := run(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return out, nil
	}
}

// normInto picks the float32 or float64 body of an IntoKernel by the
// output's element type.
func normInto(name string, f32 func(d [][]float32, out []float32), f64 func(d [][]float64, out []float64)) IntoKernel {
	run := bodiesInto(f32, f64)
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		if err := run(in, dst); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// normSum sums v in float64, four lanes at a time (float32 in
// internal/gemm/vec's AVX2/AVX-512 loop).
func normSum[T Float](v []T) float64 {
	if v32, ok := any(v).([]float32); ok {
		return vec.Sum(v32)
	}
	return vec.SumGo(v)
}

// normSqDev is the sum of (v_i - m)^2 in float64.
func normSqDev[T Float](v []T, m float64) float64 {
	if v32, ok := any(v).([]float32); ok {
		return vec.SqDev(v32, m)
	}
	return vec.SqDevGo(v, m)
}

// normDot returns sum(g) and sum(g * (x - m)) in float64, g and x of equal
// length.
func normDot[T Float](g, x []T, m float64) (sg, sgx float64) {
	if g32, ok := any(g).([]float32); ok {
		return vec.DotDev(g32, any(x).([]float32), m)
	}
	return vec.DotDevGo(g, x, m)
}

// bnLayout views BatchNormalization's input as [n, c, s]: batch, channels,
// and the product of the spatial dimensions (1 for (N, C) input).
type bnLayout struct {
	n, c, s int
	relu    bool     // the forward pass applies Relu (a fused Relu node)
	clip    *clipEpi // or a fused Clip
}

// block is the contiguous run of channel ch in batch item b.
func (l bnLayout) block(b, ch int) (lo, hi int) {
	lo = (b*l.c + ch) * l.s
	return lo, lo + l.s
}

// lowerBatchNorm lowers BatchNormalization. It normalizes with the running
// statistics unless the model is compiled for training (whatever form the
// export wrote, as PyTorch's model.train()); then it normalizes with the batch mean and biased variance
// and records PyTorch's running-statistics updates in c.Updates:
// running = momentum*running + (1-momentum)*batch, with the unbiased batch
// variance for the variance (ONNX's momentum 0.9 is PyTorch's 0.1). The
// running-statistics outputs of a training-form node follow ONNX (biased
// variance); the saved mean and variance (opset < 14) are the batch's.
// spatial (opset < 9) is taken as 1.
func lowerBatchNorm(c *Ctx, in []*Value) ([]*Value, error) {
	names := []string{"X", "scale", "B", "input_mean", "input_var"}
	if len(in) < 5 {
		return nil, fmt.Errorf("%d inputs, want 5", len(in))
	}
	for i, n := range names {
		if in[i] == nil {
			return nil, fmt.Errorf("input %s is missing", n)
		}
	}
	x, scale, bias, mean, vr := in[0], in[1], in[2], in[3], in[4]
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input of type %s, want a float type", x.DType)
	}
	if x.Rank() < 2 {
		return nil, fmt.Errorf("input X has shape %v, want at least (N, C)", x.Shape)
	}
	C := x.Shape[1]
	for i := 1; i < 5; i++ {
		if in[i].Rank() != 1 || in[i].Shape[0] != C {
			return nil, fmt.Errorf("%s has shape %v, want [%d]", names[i], in[i].Shape, C)
		}
		if in[i].DType != x.DType {
			return nil, fmt.Errorf("%s is %s, X is %s", names[i], in[i].DType, x.DType)
		}
	}
	eps := c.attrs().Float("epsilon", 1e-5)
	momentum := c.attrs().Float("momentum", 0.9)
	l := bnLayout{n: x.Shape[0], c: C, s: sizeOf(x.Shape[2:])}
	outs := make([]*Value, max(len(c.Node.Outputs), 1))
	want := func(i int) bool { return i < len(c.Node.Outputs) && c.Node.Outputs[i] != "" }
	// A Relu fused into the node (see reluFusions) runs in the affine pass;
	// the gradients take it from the output first (reluThen). fl is the
	// forward layout; the gradients use l.
	fl, name := l, "BatchNormalization"
	fuse := func(g GradFunc) GradFunc { return g }
	if c.FuseRelu {
		fl.relu, c.ReluFused, name, fuse = true, true, "BatchNormRelu", reluThen
	}
	if e := c.fuseClip; e != nil && c.fuseClipType == x.DType {
		fl.clip, c.ReluFused, name = e, true, "BatchNormClip"
		fuse = func(g GradFunc) GradFunc { return clipFusedThen(e, g) }
	}
	into := func(in IntoKernel) IntoKernel {
		if fl.clip != nil {
			return fl.clip.wrap(in)
		}
		return in
	}
	if !c.Train || c.EvalBatchNorm[c.Node.Inputs[3]] {
		y, err := c.Apply(Spec{Name: name, Shape: x.Shape, DType: x.DType,
			Into: into(normInto(name, bnEval[float32](fl, eps), bnEval[float64](fl, eps))),
			Grad: fuse(bnEvalGrad(l, eps)), WRT: []bool{true, true, true, false, false}}, x, scale, bias, mean, vr)
		if err != nil {
			return nil, err
		}
		outs[0] = y
		// A training-form node compiled for inference: its running
		// statistics stay as they are.
		if want(1) {
			outs[1] = mean
		}
		if want(2) {
			outs[2] = vr
		}
		return outs, nil
	}
	count := l.n * l.s
	if count < 2 {
		return nil, fmt.Errorf("training needs more than 1 value per channel, X has shape %v", x.Shape)
	}
	stats, err := c.Apply(Spec{Name: "BatchNormStats", Shape: []int{2, C}, DType: x.DType,
		Fwd: normByType("BatchNormStats", bnStats[float32](l), bnStats[float64](l))}, x)
	if err != nil {
		return nil, err
	}
	y, err := c.Apply(Spec{Name: name, Shape: x.Shape, DType: x.DType,
		Into: into(normInto(name, bnTrain[float32](fl, eps), bnTrain[float64](fl, eps))),
		Grad: fuse(bnTrainGrad(l, eps)), WRT: []bool{true, true, true, false}}, x, scale, bias, stats)
	if err != nil {
		return nil, err
	}
	outs[0] = y
	running := func(name string, run *Value, row int, factor float64) (*Value, error) {
		return c.Apply(Spec{Name: name, Shape: []int{C}, DType: x.DType, NoFold: true,
			Fwd: normByType(name, bnRunning[float32](C, momentum, row, factor), bnRunning[float64](C, momentum, row, factor))}, run, stats)
	}
	newMean, err := running("BatchNormRunningMean", mean, 0, 1)
	if err != nil {
		return nil, err
	}
	newVar, err := running("BatchNormRunningVar", vr, 1, float64(count)/float64(count-1))
	if err != nil {
		return nil, err
	}
	if c.Updates != nil {
		*c.Updates = append(*c.Updates,
			Update{Initializer: c.Node.Inputs[3], Node: newMean.Node},
			Update{Initializer: c.Node.Inputs[4], Node: newVar.Node})
	}
	if want(1) {
		outs[1] = newMean
	}
	if want(2) {
		if outs[2], err = running("BatchNormRunningVarBiased", vr, 1, 1); err != nil {
			return nil, err
		}
	}
	for i := 3; i < 5; i++ {
		if !want(i) {
			continue
		}
		if outs[i], err = c.Apply(Spec{Name: "BatchNormSaved", Shape: []int{C}, DType: x.DType,
			Fwd: normByType("BatchNormSaved", bnRow[float32](C, i-3), bnRow[float64](C, i-3))}, stats); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// bnStats computes (x) -> [2, C]: the batch mean and biased variance of
// every channel.
func bnStats[T Float](l bnLayout) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]T, 2*l.c)
		if x32, ok := any(x).([]float32); ok && l.s < smallPlane {
			bnStatsPlanes(l, x32, any(out).([]float32))
			return Dense([]int{2, l.c}, out), nil
		}
		cnt := float64(l.n * l.s)
		parallelRange(l.c, 2*l.n*l.s, func(c0, c1 int) {
			for ch := c0; ch < c1; ch++ {
				sum := 0.0
				for b := 0; b < l.n; b++ {
					lo, hi := l.block(b, ch)
					sum += normSum(x[lo:hi])
				}
				m := sum / cnt
				sq := 0.0
				for b := 0; b < l.n; b++ {
					lo, hi := l.block(b, ch)
					sq += normSqDev(x[lo:hi], m)
				}
				out[ch], out[l.c+ch] = T(m), T(sq/cnt)
			}
		})
		return Dense([]int{2, l.c}, out), nil
	}
}

// bnAffine computes y = (x - mean) / sqrt(var + eps) * scale + bias.
func bnAffine[T Float](l bnLayout, eps float64, out, x, scale, bias, mean, vr []T) {
	if o32, ok := any(out).([]float32); ok && l.s < smallPlane {
		bnAffinePlanes(l, eps, o32, any(x).([]float32), any(scale).([]float32), any(bias).([]float32), any(mean).([]float32), any(vr).([]float32))
		return
	}
	parallelRange(l.c, l.n*l.s, func(c0, c1 int) {
		for ch := c0; ch < c1; ch++ {
			a0, b0 := bnAffineCoef(ch, eps, scale, bias, mean, vr)
			for b := 0; b < l.n; b++ {
				lo, hi := l.block(b, ch)
				dst := out[lo:hi]
				xs := x[lo:hi]
				if d32, ok := any(dst).([]float32); ok {
					vec.ScaleShift(d32, any(xs).([]float32), float32(a0), float32(b0), l.relu)
					if l.clip != nil {
						clipEpiApply(l.clip, dst)
					}
					continue
				}
				for i, v := range xs {
					dst[i] = v*a0 + b0
				}
				if l.relu {
					reluSlice(dst)
				} else if l.clip != nil {
					clipEpiApply(l.clip, dst)
				}
			}
		}
	})
}

// bnAffineCoef returns channel ch's a = scale/sqrt(var + eps) and
// b = bias - mean*a, computed in float64 and rounded to T.
func bnAffineCoef[T Float](ch int, eps float64, scale, bias, mean, vr []T) (a, b T) {
	inv := 1 / math.Sqrt(float64(vr[ch])+eps)
	k := float64(scale[ch]) * inv
	return T(k), T(float64(bias[ch]) - float64(mean[ch])*k)
}

// bnEval: (x, scale, bias, mean, var) -> y with the given statistics.
func bnEval[T Float](l bnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) { bnAffine(l, eps, out, d[0], d[1], d[2], d[3], d[4]) }
}

// bnTrain: (x, scale, bias, stats) -> y with the batch statistics.
func bnTrain[T Float](l bnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) {
		st := d[3]
		bnAffine(l, eps, out, d[0], d[1], d[2], st[:l.c], st[l.c:])
	}
}

// bnRunning: (running, stats) -> momentum*running + (1-momentum)*factor*stats[row].
func bnRunning[T Float](c int, momentum float64, row int, factor float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		run, st := d[0], d[1][row*c:(row+1)*c]
		out := make([]T, c)
		for i := range out {
			out[i] = T(momentum*float64(run[i]) + (1-momentum)*factor*float64(st[i]))
		}
		return Dense([]int{c}, out), nil
	}
}

// bnRow: ([2, C]) -> row r.
func bnRow[T Float](c, r int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		return Dense([]int{c}, append([]T(nil), d[r*c:(r+1)*c]...)), nil
	}
}

// bnSums: (dy, x, mean, var) -> [2, C]: sum(dy) and sum(dy * xhat) per
// channel, xhat = (x - mean) / sqrt(var + eps). With packed, the statistics
// come as one [2, C] input.
func bnSums[T Float](l bnLayout, eps float64, packed bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy, x := d[0], d[1]
		var mean, vr []T
		if packed {
			mean, vr = d[2][:l.c], d[2][l.c:]
		} else {
			mean, vr = d[2], d[3]
		}
		out := make([]T, 2*l.c)
		if dy32, ok := any(dy).([]float32); ok && l.s < smallPlane {
			bnSumsPlanes(l, eps, any(out).([]float32), dy32, any(x).([]float32), any(mean).([]float32), any(vr).([]float32))
			return Dense([]int{2, l.c}, out), nil
		}
		parallelRange(l.c, 2*l.n*l.s, func(c0, c1 int) {
			for ch := c0; ch < c1; ch++ {
				m := float64(mean[ch])
				var sdy, sdyx float64
				for b := 0; b < l.n; b++ {
					lo, hi := l.block(b, ch)
					a, c := normDot(dy[lo:hi], x[lo:hi], m)
					sdy += a
					sdyx += c
				}
				out[ch] = T(sdy)
				out[l.c+ch] = T(sdyx / math.Sqrt(float64(vr[ch])+eps))
			}
		})
		return Dense([]int{2, l.c}, out), nil
	}
}

// bnEvalGradX: (dy, scale, var) -> dy * scale / sqrt(var + eps).
func bnEvalGradX[T Float](l bnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) {
		dy, scale, vr := d[0], d[1], d[2]
		for ch := 0; ch < l.c; ch++ {
			k := T(float64(scale[ch]) / math.Sqrt(float64(vr[ch])+eps))
			for b := 0; b < l.n; b++ {
				lo, hi := l.block(b, ch)
				dst := out[lo:hi]
				for i, g := range dy[lo:hi] {
					dst[i] = g * k
				}
			}
		}
	}
}

// bnGradXCoef returns channel ch's A, B, D of bnTrainGradX (M values a
// channel), computed in float64 and rounded to T.
func bnGradXCoef[T Float](l bnLayout, ch int, eps, M float64, scale, st, sums []T) (A, B, D T) {
	mean := float64(st[ch])
	inv := 1 / math.Sqrt(float64(st[l.c+ch])+eps)
	k := float64(scale[ch]) * inv
	mdy, mdyx := float64(sums[ch])/M, float64(sums[l.c+ch])/M
	bx := -k * inv * mdyx
	return T(k), T(bx), T(-bx*mean - k*mdy)
}

// bnTrainGradX: (dy, x, scale, stats, sums) -> dx through the batch
// statistics: dx = k*(dy - mean(dy) - xhat*mean(dy*xhat)), k = scale*inv,
// computed as A*dy + B*x + D per channel.
func bnTrainGradX[T Float](l bnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) {
		dy, x, scale, st, sums := d[0], d[1], d[2], d[3], d[4]
		if o32, ok := any(out).([]float32); ok && l.s < smallPlane {
			bnTrainGradXPlanes(l, eps, o32, any(dy).([]float32), any(x).([]float32), any(scale).([]float32), any(st).([]float32), any(sums).([]float32))
			return
		}
		M := float64(l.n * l.s)
		parallelRange(l.c, l.n*l.s, func(c0, c1 int) {
			for ch := c0; ch < c1; ch++ {
				A, B, D := bnGradXCoef(l, ch, eps, M, scale, st, sums)
				for b := 0; b < l.n; b++ {
					lo, hi := l.block(b, ch)
					dst, xs := out[lo:hi], x[lo:hi]
					if d32, ok := any(dst).([]float32); ok {
						vec.Affine2(d32, any(dy[lo:hi]).([]float32), any(xs).([]float32), float32(A), float32(B), float32(D))
						continue
					}
					for i, g := range dy[lo:hi] {
						dst[i] = A*g + B*xs[i] + D
					}
				}
			}
		})
	}
}

// bnGradRows turns the [2, C] sums into the gradients of scale (row 1) and
// bias (row 0).
func bnGradRows(g *G.ExprGraph, key string, c int, sums *G.Node) (dscale, dbias *G.Node, err error) {
	dt := DTypeOf(sums)
	if dscale, err = NewNode(g, key+"/gradScale", Spec{Name: "BatchNormGradScale", Shape: []int{c}, DType: dt,
		Fwd: normByType("BatchNormGradScale", bnRow[float32](c, 1), bnRow[float64](c, 1))}, sums); err != nil {
		return nil, nil, err
	}
	dbias, err = NewNode(g, key+"/gradBias", Spec{Name: "BatchNormGradBias", Shape: []int{c}, DType: dt,
		Fwd: normByType("BatchNormGradBias", bnRow[float32](c, 0), bnRow[float64](c, 0))}, sums)
	return dscale, dbias, err
}

// bnEvalGrad: inputs (x, scale, bias, mean, var); the statistics are
// constants.
func bnEvalGrad(l bnLayout, eps float64) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, key := grad.Graph(), output.Name()
		x, scale, mean, vr := inputs[0], inputs[1], inputs[3], inputs[4]
		sums, err := NewNode(g, key+"/sums", Spec{Name: "BatchNormGradSums", Shape: []int{2, l.c}, DType: DTypeOf(x),
			Fwd: normByType("BatchNormGradSums", bnSums[float32](l, eps, false), bnSums[float64](l, eps, false))}, grad, x, mean, vr)
		if err != nil {
			return nil, err
		}
		dx, err := NewNode(g, key+"/gradX", Spec{Name: "BatchNormGradX", Shape: ShapeOf(x), DType: DTypeOf(x),
			Into: normInto("BatchNormGradX", bnEvalGradX[float32](l, eps), bnEvalGradX[float64](l, eps))}, grad, scale, vr)
		if err != nil {
			return nil, err
		}
		ds, db, err := bnGradRows(g, key, l.c, sums)
		return G.Nodes{dx, ds, db, nil, nil}, err
	}
}

// bnTrainGrad: inputs (x, scale, bias, stats); the gradient of x goes
// through the batch statistics.
func bnTrainGrad(l bnLayout, eps float64) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, key := grad.Graph(), output.Name()
		x, scale, st := inputs[0], inputs[1], inputs[3]
		sums, err := NewNode(g, key+"/sums", Spec{Name: "BatchNormGradSums", Shape: []int{2, l.c}, DType: DTypeOf(x),
			Fwd: normByType("BatchNormGradSums", bnSums[float32](l, eps, true), bnSums[float64](l, eps, true))}, grad, x, st)
		if err != nil {
			return nil, err
		}
		dx, err := NewNode(g, key+"/gradX", Spec{Name: "BatchNormTrainGradX", Shape: ShapeOf(x), DType: DTypeOf(x),
			Into: normInto("BatchNormTrainGradX", bnTrainGradX[float32](l, eps), bnTrainGradX[float64](l, eps))}, grad, x, scale, st, sums)
		if err != nil {
			return nil, err
		}
		ds, db, err := bnGradRows(g, key, l.c, sums)
		return G.Nodes{dx, ds, db, nil}, err
	}
}

// lnLayout views LayerNormalization's input as [outer, inner]: inner is the
// normalized shape, shape[axis:]; scale and bias broadcast to it.
type lnLayout struct {
	outer, inner int
	norm         []int
	scale, bias  []int // nil bias: none
}

// lowerLayerNorm lowers LayerNormalization (opset 17): axis default -1,
// epsilon 1e-5, optional bias; the Mean and InvStdDev outputs are computed
// when named (they carry no gradient).
func lowerLayerNorm(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("inputs X and Scale are required")
	}
	x, scale, bias := in[0], in[1], input(in, 2)
	if !x.DType.IsFloat() {
		return nil, fmt.Errorf("input of type %s, want a float type", x.DType)
	}
	r := x.Rank()
	axis := int(c.attrs().Int("axis", -1))
	if axis < -r || axis >= r {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += r
	}
	eps := c.attrs().Float("epsilon", 1e-5)
	l := lnLayout{outer: sizeOf(x.Shape[:axis]), inner: sizeOf(x.Shape[axis:]), norm: x.Shape[axis:], scale: scale.Shape}
	args := []*Value{x, scale}
	for i, v := range []*Value{scale, bias} {
		if v == nil {
			continue
		}
		what := [2]string{"Scale", "B"}[i]
		if v.DType != x.DType {
			return nil, fmt.Errorf("%s is %s, X is %s", what, v.DType, x.DType)
		}
		if b, err := BroadcastShape(l.norm, v.Shape); err != nil || !sameInts(b, l.norm) {
			return nil, fmt.Errorf("%s has shape %v, which does not broadcast to %v", what, v.Shape, l.norm)
		}
	}
	if bias != nil {
		l.bias = bias.Shape
		if l.bias == nil {
			l.bias = []int{}
		}
		args = append(args, bias)
	}
	wrt := make([]bool, len(args))
	for i := range wrt {
		wrt[i] = true
	}
	y, err := c.Apply(Spec{Name: "LayerNormalization", Shape: x.Shape, DType: x.DType,
		Into: normInto("LayerNormalization", lnForward[float32](l, eps), lnForward[float64](l, eps)), Overwrites: true, Grad: lnGrad(l, eps), WRT: wrt}, args...)
	if err != nil {
		return nil, err
	}
	outs := make([]*Value, max(len(c.Node.Outputs), 1))
	outs[0] = y
	statShape := append([]int{}, x.Shape[:axis]...)
	for range x.Shape[axis:] {
		statShape = append(statShape, 1)
	}
	for i := 1; i < len(outs) && i < 3; i++ {
		if c.Node.Outputs[i] == "" {
			continue
		}
		inv := i == 2
		if outs[i], err = c.Apply(Spec{Name: "LayerNormalizationStat", Shape: statShape, DType: x.DType,
			Fwd: normByType("LayerNormalizationStat", lnStat[float32](l, eps, inv), lnStat[float64](l, eps, inv))}, x); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// lnRowStats returns the mean and 1/sqrt(var + eps) of one row.
func lnRowStats[T Float](row []T, eps float64) (mean, rstd float64) {
	n := float64(len(row))
	mean = normSum(row) / n
	return mean, 1 / math.Sqrt(normSqDev(row, mean)/n+eps)
}

// lnExpand broadcasts v (shape from) to the normalized shape.
func lnExpand[T Float](v []T, from, to []int) []T {
	if sizeOf(from) == sizeOf(to) {
		return v
	}
	out, _, _ := Binary(make([]T, sizeOf(to)), v, to, from, func(_, b T) T { return b })
	return out
}

// lnForward: (x, scale[, bias]) -> y.
func lnForward[T Float](l lnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) {
		x := d[0]
		sc := lnExpand(d[1], l.scale, l.norm)
		var bs []T
		if len(d) > 2 {
			bs = lnExpand(d[2], l.bias, l.norm)
		}
		// Rows are independent: split across the cores.
		parallelRange(l.outer, 4*l.inner, func(o0, o1 int) {
			for o := o0; o < o1; o++ {
				row, dst := x[o*l.inner:(o+1)*l.inner], out[o*l.inner:(o+1)*l.inner]
				m, s := lnRowStats(row, eps)
				mt, st := T(m), T(s)
				if bs != nil {
					for j, v := range row {
						dst[j] = (v-mt)*st*sc[j] + bs[j]
					}
				} else {
					for j, v := range row {
						dst[j] = (v - mt) * st * sc[j]
					}
				}
			}
		})
	}
}

// lnStat: (x) -> the mean or the inverse standard deviation of each row.
func lnStat[T Float](l lnLayout, eps float64, inv bool) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		x, err := Data[T](in[0])
		if err != nil {
			return nil, err
		}
		out := make([]T, l.outer)
		for o := range out {
			m, s := lnRowStats(x[o*l.inner:(o+1)*l.inner], eps)
			if inv {
				out[o] = T(s)
			} else {
				out[o] = T(m)
			}
		}
		shape := Shape(in[0])
		for i := len(shape) - len(l.norm); i < len(shape); i++ {
			shape[i] = 1
		}
		return Dense(shape, out), nil
	}
}

// lnGradX: (dy, x, scale) -> dx = rstd*(g - mean(g) - xhat*mean(g*xhat)),
// g = dy*scale.
func lnGradX[T Float](l lnLayout, eps float64) func(d [][]T, out []T) {
	return func(d [][]T, out []T) {
		dy, x := d[0], d[1]
		sc := lnExpand(d[2], l.scale, l.norm)
		n := float64(l.inner)
		parallelRange(l.outer, 8*l.inner, func(o0, o1 int) {
			for o := o0; o < o1; o++ {
				lo, hi := o*l.inner, (o+1)*l.inner
				row, g, dst := x[lo:hi], dy[lo:hi], out[lo:hi]
				m, s := lnRowStats(row, eps)
				var sg, sgx float64
				for j, v := range row {
					gj := float64(g[j]) * float64(sc[j])
					sg += gj
					sgx += gj * (float64(v) - m)
				}
				mg, mgx := sg/n, sgx*s/n
				// dx = s*g - s*mg - s*xhat*mgx, xhat = (x-m)*s.
				st, a, b := T(s), T(-s*s*mgx), T(-s*mg+s*s*mgx*m)
				for j, v := range row {
					dst[j] = st*g[j]*sc[j] + a*v + b
				}
			}
		})
	}
}

// lnGradParam: (dy[, x]) -> the gradient of scale (with x: sum of dy*xhat)
// or of bias (sum of dy), summed over rows and down to the parameter shape.
func lnGradParam[T Float](l lnLayout, eps float64, to []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy := d[0]
		acc := make([]float64, l.inner)
		// The rows' statistics first (split by rows), then the sums split
		// by columns, each column summed over the rows in order as the
		// serial loop did.
		var stats []float64
		if len(d) > 1 {
			stats = make([]float64, 2*l.outer)
			parallelRange(l.outer, 2*l.inner, func(o0, o1 int) {
				for o := o0; o < o1; o++ {
					stats[2*o], stats[2*o+1] = lnRowStats(d[1][o*l.inner:(o+1)*l.inner], eps)
				}
			})
		}
		parallelRange(l.inner, 2*l.outer, func(j0, j1 int) {
			for o := 0; o < l.outer; o++ {
				lo := o * l.inner
				g := dy[lo+j0 : lo+j1]
				a := acc[j0:j1]
				if stats != nil {
					row := d[1][lo+j0 : lo+j1]
					m, s := stats[2*o], stats[2*o+1]
					for j, v := range row {
						a[j] += float64(g[j]) * (float64(v) - m) * s
					}
				} else {
					for j, v := range g {
						a[j] += float64(v)
					}
				}
			}
		})
		sum := SumTo(acc, l.norm, to)
		out := make([]T, len(sum))
		for i, v := range sum {
			out[i] = T(v)
		}
		return Dense(to, out), nil
	}
}

// lnGrad: inputs (x, scale[, bias]).
func lnGrad(l lnLayout, eps float64) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, key := grad.Graph(), output.Name()
		x, scale := inputs[0], inputs[1]
		dt := DTypeOf(x)
		out := make(G.Nodes, len(inputs))
		var err error
		if out[0], err = NewNode(g, key+"/gradX", Spec{Name: "LayerNormalizationGradX", Shape: ShapeOf(x), DType: dt,
			Into: normInto("LayerNormalizationGradX", lnGradX[float32](l, eps), lnGradX[float64](l, eps)), Overwrites: true}, grad, x, scale); err != nil {
			return nil, err
		}
		if out[1], err = NewNode(g, key+"/gradScale", Spec{Name: "LayerNormalizationGradScale", Shape: ShapeOf(scale), DType: dt,
			Fwd: normByType("LayerNormalizationGradScale", lnGradParam[float32](l, eps, l.scale), lnGradParam[float64](l, eps, l.scale))}, grad, x); err != nil {
			return nil, err
		}
		if len(inputs) > 2 {
			if out[2], err = NewNode(g, key+"/gradBias", Spec{Name: "LayerNormalizationGradBias", Shape: ShapeOf(inputs[2]), DType: dt,
				Fwd: normByType("LayerNormalizationGradBias", lnGradParam[float32](l, eps, l.bias), lnGradParam[float64](l, eps, l.bias))}, grad); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}
