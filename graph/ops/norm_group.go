package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// registerGroupNorm adds InstanceNormalization and GroupNormalization:
// PyTorch's nn.InstanceNorm2d(affine=True) and nn.GroupNorm, whose weight
// and bias are inputs 1 and 2. TorchScript writes nn.GroupNorm as a
// Reshape to [N, G, -1], an InstanceNormalization with constant ones and
// zeros, a Reshape back and Mul and Add by the weight and bias; the dynamo
// exporter writes GroupNormalization at opset 21.
func registerGroupNorm(r *Registry) {
	r.add(OpInfo{Name: "InstanceNormalization", Differentiable: true, Lower: lowerGroupNorm(false), Params: weightBias})
	r.add(OpInfo{Name: "GroupNormalization", Differentiable: true, Lower: lowerGroupNorm(true), Params: weightBias})
}

// gnLayout views an [N, C, spatial...] input as N*groups rows of
// (C/groups)*spatial contiguous elements, each normalized alone; the
// scale and bias have one element per channel, or per group
// (GroupNormalization before opset 21).
type gnLayout struct {
	n, c, groups, spatial int
	perGroup              bool
}

func (l gnLayout) rows() int  { return l.n * l.groups }
func (l gnLayout) inner() int { return l.c / l.groups * l.spatial }
func (l gnLayout) params() int {
	if l.perGroup {
		return l.groups
	}
	return l.c
}

// param returns the index into scale and bias of element j of row r.
func (l gnLayout) param(r, j int) int {
	if l.perGroup {
		return r % l.groups
	}
	return r%l.groups*(l.c/l.groups) + j/l.spatial
}

// lowerGroupNorm lowers InstanceNormalization (groups = channels) and
// GroupNormalization (attribute num_groups; epsilon 1e-5 for both). The
// statistics are those of the batch in training and inference alike (the
// biased variance), as PyTorch's.
func lowerGroupNorm(group bool) LowerFunc {
	return func(c *Ctx, in []*Value) ([]*Value, error) {
		if len(in) < 3 || in[0] == nil || in[1] == nil || in[2] == nil {
			return nil, fmt.Errorf("inputs X, scale and B are required")
		}
		x, scale, bias := in[0], in[1], in[2]
		if !x.DType.IsFloat() {
			return nil, fmt.Errorf("input of type %s, want a float type", x.DType)
		}
		if x.Rank() < 2 {
			return nil, fmt.Errorf("input has rank %d, want [N, C, ...]", x.Rank())
		}
		l := gnLayout{n: x.Shape[0], c: x.Shape[1], groups: x.Shape[1], spatial: sizeOf(x.Shape[2:])}
		if group {
			g := c.attrs().Int("num_groups", 0)
			if g <= 0 || l.c%int(g) != 0 {
				return nil, fmt.Errorf("num_groups %d does not divide the %d channels", g, l.c)
			}
			l.groups, l.perGroup = int(g), c.Opset < 21
		}
		eps := c.attrs().Float("epsilon", 1e-5)
		for i, v := range []*Value{scale, bias} {
			what := [2]string{"scale", "B"}[i]
			if v.DType != x.DType {
				return nil, fmt.Errorf("%s is %s, X is %s", what, v.DType, x.DType)
			}
			if v.Rank() != 1 || v.Shape[0] != l.params() {
				return nil, fmt.Errorf("%s has shape %v, want [%d]", what, v.Shape, l.params())
			}
		}
		y, err := c.Apply(Spec{Name: c.Node.OpType, Shape: x.Shape, DType: x.DType,
			Fwd:  normByType(c.Node.OpType, gnForward[float32](l, eps), gnForward[float64](l, eps)),
			Grad: gnGrad(c.Node.OpType, l, eps), WRT: []bool{true, true, true}}, x, scale, bias)
		return []*Value{y}, err
	}
}

// gnForward: (x, scale, bias) -> y.
func gnForward[T Float](l gnLayout, eps float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		x, sc, bs := d[0], d[1], d[2]
		out := make([]T, len(x))
		n := l.inner()
		for r := 0; r < l.rows(); r++ {
			row, dst := x[r*n:(r+1)*n], out[r*n:(r+1)*n]
			m, s := lnRowStats(row, eps)
			for j, v := range row {
				p := l.param(r, j)
				dst[j] = T((float64(v)-m)*s)*sc[p] + bs[p]
			}
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// gnGradX: (dy, x, scale) -> dx = rstd*(g - mean(g) - xhat*mean(g*xhat)),
// g = dy*scale, per row.
func gnGradX[T Float](l gnLayout, eps float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy, x, sc := d[0], d[1], d[2]
		out := make([]T, len(x))
		n := l.inner()
		g := make([]float64, n)
		for r := 0; r < l.rows(); r++ {
			lo := r * n
			row := x[lo : lo+n]
			m, s := lnRowStats(row, eps)
			var sg, sgx float64
			for j, v := range row {
				g[j] = float64(dy[lo+j]) * float64(sc[l.param(r, j)])
				sg += g[j]
				sgx += g[j] * (float64(v) - m) * s
			}
			mg, mgx := sg/float64(n), sgx/float64(n)
			for j, v := range row {
				out[lo+j] = T(s * (g[j] - mg - (float64(v)-m)*s*mgx))
			}
		}
		return Dense(Shape(in[0]), out), nil
	}
}

// gnGradParam: (dy[, x]) -> the gradient of scale (with x: the sum of
// dy*xhat) or of bias (the sum of dy) per channel or group.
func gnGradParam[T Float](l gnLayout, eps float64) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		dy := d[0]
		acc := make([]float64, l.params())
		n := l.inner()
		for r := 0; r < l.rows(); r++ {
			lo := r * n
			m, s := 0.0, 1.0
			if len(d) > 1 {
				m, s = lnRowStats(d[1][lo:lo+n], eps)
			}
			for j := 0; j < n; j++ {
				v := float64(dy[lo+j])
				if len(d) > 1 {
					v *= (float64(d[1][lo+j]) - m) * s
				}
				acc[l.param(r, j)] += v
			}
		}
		out := make([]T, len(acc))
		for i, v := range acc {
			out[i] = T(v)
		}
		return Dense([]int{len(out)}, out), nil
	}
}

// gnGrad: inputs (x, scale, bias).
func gnGrad(name string, l gnLayout, eps float64) GradFunc {
	return func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		g, key := grad.Graph(), output.Name()
		x, scale := inputs[0], inputs[1]
		dt := DTypeOf(x)
		out := make(G.Nodes, 3)
		var err error
		if out[0], err = NewNode(g, key+"/gradX", Spec{Name: name + "GradX", Shape: ShapeOf(x), DType: dt,
			Fwd: normByType(name+"GradX", gnGradX[float32](l, eps), gnGradX[float64](l, eps))}, grad, x, scale); err != nil {
			return nil, err
		}
		if out[1], err = NewNode(g, key+"/gradScale", Spec{Name: name + "GradScale", Shape: []int{l.params()}, DType: dt,
			Fwd: normByType(name+"GradScale", gnGradParam[float32](l, eps), gnGradParam[float64](l, eps))}, grad, x); err != nil {
			return nil, err
		}
		if out[2], err = NewNode(g, key+"/gradBias", Spec{Name: name + "GradBias", Shape: []int{l.params()}, DType: dt,
			Fwd: normByType(name+"GradBias", gnGradParam[float32](l, eps), gnGradParam[float64](l, eps))}, grad); err != nil {
			return nil, err
		}
		return out, nil
	}
}
