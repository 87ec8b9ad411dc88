package ops

import (
	G "gorgonia.org/gorgonia"

	"github.com/onnxtune/onnxtune/graph"
)

// Two float Muls have direct loops into kept buffers, forward and
// gradients, instead of the general broadcasting kernels (a closure per
// element, the gradients summed in float64 through fresh buffers): Muls of
// two tensors of one shape, and a tensor scaled block by block by a
// smaller one, as squeeze-excite's x [N, C, H, W] times its gate
// [N, C, 1, 1]. They compute the same numbers: a product of two float32s
// rounded once is what the float64 product rounded to float32 is, and the
// small side's gradient is summed in float64 in the same order as SumTo.

// mulBlocks says whether small scales big block by block: equal rank,
// small's dimensions big's up to some axis k and 1 from there. Each of
// small's outer elements then multiplies inner consecutive elements of big.
func mulBlocks(big, small []int) (outer, inner int, ok bool) {
	if len(big) != len(small) || len(big) == 0 {
		return 0, 0, false
	}
	k := len(small)
	for k > 0 && small[k-1] == 1 {
		k--
	}
	for d := 0; d < k; d++ {
		if small[d] != big[d] {
			return 0, 0, false
		}
	}
	outer, inner = sizeOf(big[:k]), sizeOf(big[k:])
	return outer, inner, inner > 1
}

// mulSameGrad is the gradient of a Mul of two float tensors of one shape:
// grad*b and grad*a into kept buffers, in parallel.
func mulSameGrad(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	key := output.Name()
	a, b := inputs[0], inputs[1]
	ga, err := NewNode(grad.Graph(), key+"/GradA", Spec{Name: "MulGradA", Shape: ShapeOf(a), DType: DTypeOf(a),
		Into: binaryInto(opMul), Overwrites: true}, grad, b)
	if err != nil {
		return nil, err
	}
	gb, err := NewNode(grad.Graph(), key+"/GradB", Spec{Name: "MulGradB", Shape: ShapeOf(b), DType: DTypeOf(b),
		Into: binaryInto(opMul), Overwrites: true}, grad, a)
	return G.Nodes{ga, gb}, err
}

// mulBlockSpec is the Spec of a block-wise Mul: input bigAt is the big
// side (of the output's shape), the other the small one.
func mulBlockSpec(dt graph.DType, shape []int, bigAt, outer, inner int) Spec {
	return Spec{Name: "MulScale", Shape: shape, DType: dt, WRT: []bool{true, true},
		Into: bodiesInto(mulScaleBody[float32](bigAt, outer, inner), mulScaleBody[float64](bigAt, outer, inner)),
		Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			key := output.Name()
			big, small := inputs[bigAt], inputs[1-bigAt]
			gs := make(G.Nodes, 2)
			var err error
			// grad * small, block by block: the forward's loop on (grad, small).
			if gs[bigAt], err = NewNode(grad.Graph(), key+"/GradBig", Spec{Name: "MulScaleGrad", Shape: ShapeOf(big), DType: DTypeOf(big),
				Into: bodiesInto(mulScaleBody[float32](0, outer, inner), mulScaleBody[float64](0, outer, inner))}, grad, small); err != nil {
				return nil, err
			}
			gs[1-bigAt], err = NewNode(grad.Graph(), key+"/GradSmall", Spec{Name: "MulScaleGradSum", Shape: ShapeOf(small), DType: DTypeOf(small),
				Into: bodiesInto(mulDotBody[float32](outer, inner), mulDotBody[float64](outer, inner))}, grad, big)
			return gs, err
		}}
}

// mulScaleBody: y[i*inner+j] = big[i*inner+j] * small[i], big = in[bigAt].
func mulScaleBody[T Float](bigAt, outer, inner int) func(in [][]T, y []T) {
	return func(in [][]T, y []T) {
		big, small := in[bigAt], in[1-bigAt]
		parallelRange(outer, inner, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				s := small[i]
				src, dst := big[i*inner:(i+1)*inner], y[i*inner:(i+1)*inner]
				for j, v := range src {
					dst[j] = v * s
				}
			}
		})
	}
}

// mulDotBody: out[i] = sum_j grad[i*inner+j] * big[i*inner+j], each product
// rounded to T, the sum in float64.
func mulDotBody[T Float](outer, inner int) func(in [][]T, out []T) {
	return func(in [][]T, out []T) {
		g, big := in[0], in[1]
		parallelRange(outer, inner, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gs, bs := g[i*inner:(i+1)*inner], big[i*inner:(i+1)*inner]
				var s float64
				for j, v := range gs {
					s += float64(T(v * bs[j]))
				}
				out[i] = T(s)
			}
		})
	}
}
