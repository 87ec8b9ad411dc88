package ops

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph"
)

// registerMatrix adds the matrix products Gemm and MatMul.
func registerMatrix(r *Registry) {
	// PyTorch's Linear stores its weight (out, in) and exports Gemm with
	// transB=1; transB=0 means the file holds the transpose. On input of
	// rank 3 or more it exports MatMul with the transpose stored, then Add
	// (math.go declares that bias).
	r.add(OpInfo{Name: "Gemm", Differentiable: true, Lower: lowerGemm, Params: []graph.ParamSlot{
		{Input: 1, Suffix: "weight", Transposed: true, UnlessAttr: "transB", Linear: true},
		{Input: 2, Suffix: "bias"},
	}})
	r.add(OpInfo{Name: "MatMul", Differentiable: true, Lower: lowerMatMul, Params: []graph.ParamSlot{
		{Input: 1, Suffix: "weight", Transposed: true, Linear: true},
	}})
}

// lowerGemm: Y = alpha*op(A)*op(B) + beta*C, C optional (opset 11+) and
// broadcast to M×N (unidirectionally; before opset 7 the broadcast attribute
// asked for it, later it is always allowed).
func lowerGemm(c *Ctx, in []*Value) ([]*Value, error) {
	if len(in) < 2 || in[0] == nil || in[1] == nil {
		return nil, fmt.Errorf("want inputs A and B")
	}
	a, b, cv := in[0], in[1], input(in, 2)
	if cv == nil && c.Opset < 11 {
		return nil, fmt.Errorf("input C is required before opset 11")
	}
	if a.Rank() != 2 || b.Rank() != 2 {
		return nil, fmt.Errorf("input A has %d dims and B %d, want 2 each", a.Rank(), b.Rank())
	}
	if !a.DType.IsFloat() || a.DType != b.DType {
		return nil, fmt.Errorf("inputs A (%s) and B (%s): want two float32 or float64 matrices", a.DType, b.DType)
	}
	alpha, beta := c.attrs().Float("alpha", 1), c.attrs().Float("beta", 1)
	transA, transB := c.attrs().Bool("transA", false), c.attrs().Bool("transB", false)
	m, k := a.Shape[0], a.Shape[1]
	if transA {
		m, k = k, m
	}
	kb, n := b.Shape[0], b.Shape[1]
	if transB {
		kb, n = n, kb
	}
	if k != kb {
		return nil, fmt.Errorf("op(A) is %dx%d and op(B) %dx%d", m, k, kb, n)
	}
	args := []*Value{a, b}
	var cShape []int
	if cv != nil {
		if cv.DType != a.DType {
			return nil, fmt.Errorf("input C is %s, A is %s", cv.DType, a.DType)
		}
		bs, err := BroadcastShape(cv.Shape, []int{m, n})
		if err != nil || cv.Rank() > 2 || !sameInts(bs, []int{m, n}) {
			return nil, fmt.Errorf("input C of shape %v does not broadcast to %dx%d", cv.Shape, m, n)
		}
		cShape = cv.Shape
		args = append(args, cv)
	}
	s := Spec{Name: "Gemm", Shape: []int{m, n}, DType: a.DType,
		Into: gemmInto(transA, transB, m, n, k, alpha, beta, cShape), Overwrites: true,
		WRT: make([]bool, len(args))}
	for i := range s.WRT {
		s.WRT[i] = true
	}
	if c.ConstParams && a.DType == graph.Float32 && !a.IsConst() && m > 0 && n > 0 && k > 0 {
		// Inference weights never change: pack them for the product once.
		if bd := constData32(b); bd != nil && len(bd) == k*n {
			s.Into, s.Overwrites = nil, false
			s.Fwd = floats(gemmPacked(bd, transA, transB, m, n, k, float32(alpha), float32(beta), cShape),
				gemmRun(transA, transB, m, n, k, alpha, beta, cShape))
		}
	}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		key := output.Name()
		mk := func(label string, f IntoKernel, shape []int, args ...*G.Node) (*G.Node, error) {
			return NewNode(grad.Graph(), key+"/"+label, Spec{Name: "Gemm" + label, Shape: shape,
				DType: DTypeOf(inputs[0]), Into: f, Overwrites: true}, args...)
		}
		grads := make(G.Nodes, len(inputs))
		var err error
		// dA = alpha * dY * op(B)^T, stored as A is (transposed with transA).
		if transA {
			grads[0], err = mk("GradA", productInto(transB, true, k, m, n, alpha), []int{k, m}, inputs[1], grad)
		} else {
			grads[0], err = mk("GradA", productInto(false, !transB, m, k, n, alpha), []int{m, k}, grad, inputs[1])
		}
		if err != nil {
			return nil, err
		}
		// dB = alpha * op(A)^T * dY, stored as B is.
		if transB {
			grads[1], err = mk("GradB", productInto(true, transA, n, k, m, alpha), []int{n, k}, grad, inputs[0])
		} else {
			grads[1], err = mk("GradB", productInto(!transA, false, k, n, m, alpha), []int{k, n}, inputs[0], grad)
		}
		if err != nil {
			return nil, err
		}
		if len(inputs) > 2 {
			grads[2], err = NewNode(grad.Graph(), key+"/GradC", Spec{Name: "GemmGradC", Shape: cShape,
				DType: DTypeOf(inputs[0]), Fwd: sumToKernel(cShape, beta)}, grad)
		}
		return grads, err
	}
	out, err := c.Apply(s, args...)
	return []*Value{out}, err
}

// gemmRun is Gemm's kernel into a new tensor: inputs A, B and optionally C
// (the inference path's fallback for float64, and the tests' reference).
func gemmRun[T Float](transA, transB bool, m, n, k int, alpha, beta T, cShape []int) Kernel {
	body := gemmBody(transA, transB, m, n, k, alpha, beta, cShape)
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		xs, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		out := make([]T, m*n)
		body(xs, out)
		return Dense([]int{m, n}, out), nil
	}
}

// gemmInto is gemmKernel into a kept buffer (the training program's Gemm:
// no output allocated a step). It writes every element: beta·C first, or
// a product with β = 0, which does not read the buffer.
func gemmInto(transA, transB bool, m, n, k int, alpha, beta float64, cShape []int) IntoKernel {
	return bodiesInto(gemmBody(transA, transB, m, n, k, float32(alpha), float32(beta), cShape),
		gemmBody(transA, transB, m, n, k, alpha, beta, cShape))
}

// gemmBody computes Gemm from inputs A, B and optionally C into out (m×n).
func gemmBody[T Float](transA, transB bool, m, n, k int, alpha, beta T, cShape []int) func(in [][]T, out []T) {
	var st []int
	if cShape != nil {
		st = bstrides(cShape, []int{m, n})
	}
	return func(in [][]T, out []T) {
		var acc T
		if len(in) > 2 {
			cd := in[2]
			for i := 0; i < m; i++ {
				row := out[i*n : (i+1)*n]
				ci := i * st[0]
				for j := range row {
					row[j] = beta * cd[ci+j*st[1]]
				}
			}
			acc = 1
		}
		blasGemm(transA, transB, m, n, k, alpha, in[0], in[1], acc, out)
	}
}

// productInto computes alpha*op(x)*op(y) for two 2-D inputs, op(x) m×k and
// op(y) k×n (Gemm's gradients), into a kept buffer; the product has β = 0,
// so it writes every element without reading the buffer.
func productInto(tA, tB bool, m, n, k int, alpha float64) IntoKernel {
	return bodiesInto(productBody(tA, tB, m, n, k, float32(alpha)), productBody(tA, tB, m, n, k, alpha))
}

func productBody[T Float](tA, tB bool, m, n, k int, alpha T) func(in [][]T, out []T) {
	return func(in [][]T, out []T) {
		blasGemm(tA, tB, m, n, k, alpha, in[0], in[1], 0, out)
	}
}

// matmulPlan is numpy's matmul for fixed shapes: A is (..., m, k) or (k),
// B is (..., k, n) or (k); batch dimensions broadcast.
type matmulPlan struct {
	m, k, n        int
	aShape, bShape []int
	out            []int // output shape
	batches        int   // output matrices
	aMats, bMats   int   // matrices held by A and B
	aIdx, bIdx     []int // for each output matrix, the A and B matrix it reads
}

func newMatmulPlan(as, bs []int) (*matmulPlan, error) {
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("shapes %v and %v: scalars are not allowed", as, bs)
	}
	p := &matmulPlan{aShape: as, bShape: bs}
	var aBatch, bBatch []int
	if len(as) == 1 {
		p.m, p.k = 1, as[0]
	} else {
		p.m, p.k = as[len(as)-2], as[len(as)-1]
		aBatch = as[:len(as)-2]
	}
	kb := 0
	if len(bs) == 1 {
		kb, p.n = bs[0], 1
	} else {
		kb, p.n = bs[len(bs)-2], bs[len(bs)-1]
		bBatch = bs[:len(bs)-2]
	}
	if kb != p.k {
		return nil, fmt.Errorf("shapes %v and %v: inner dimensions %d and %d differ", as, bs, p.k, kb)
	}
	batch, err := BroadcastShape(aBatch, bBatch)
	if err != nil {
		return nil, fmt.Errorf("shapes %v and %v: batch dimensions do not broadcast", as, bs)
	}
	p.out = append([]int{}, batch...)
	if len(as) > 1 {
		p.out = append(p.out, p.m)
	}
	if len(bs) > 1 {
		p.out = append(p.out, p.n)
	}
	p.batches, p.aMats, p.bMats = sizeOf(batch), sizeOf(aBatch), sizeOf(bBatch)
	p.aIdx, p.bIdx = make([]int, p.batches), make([]int, p.batches)
	sa, sb := bstrides(aBatch, batch), bstrides(bBatch, batch)
	idx := make([]int, len(batch))
	ia, ib := 0, 0
	for i := 0; i < p.batches; i++ {
		p.aIdx[i], p.bIdx[i] = ia, ib
		for d := len(batch) - 1; d >= 0; d-- {
			idx[d]++
			ia += sa[d]
			ib += sb[d]
			if idx[d] < batch[d] {
				break
			}
			ia -= sa[d] * batch[d]
			ib -= sb[d] * batch[d]
			idx[d] = 0
		}
	}
	return p, nil
}

// flatA reports whether A's matrices can be stacked into one (batches*m)×k
// matrix against a single B matrix: the common Linear-on-3-D case.
func (p *matmulPlan) flatA() bool { return p.bMats == 1 && p.aMats == p.batches }

func (p *matmulPlan) forward() Kernel {
	run := floats(matmulRun[float32](p), matmulRun[float64](p))
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		if in[0].Dtype() != in[1].Dtype() {
			return nil, fmt.Errorf("element types %v and %v differ", in[0].Dtype(), in[1].Dtype())
		}
		return run(in)
	}
}

// into is a matmul plan's kernel body as an IntoKernel, with the check
// that both inputs have the output's element type.
func (p *matmulPlan) into(f32 func(in [][]float32, y []float32), f64 func(in [][]float64, y []float64)) IntoKernel {
	run := bodiesInto(f32, f64)
	return func(in []*tensor.Dense, dst *tensor.Dense) error {
		if in[0].Dtype() != in[1].Dtype() {
			return fmt.Errorf("element types %v and %v differ", in[0].Dtype(), in[1].Dtype())
		}
		return run(in, dst)
	}
}

// eachMatrix runs f for the output matrices [0, batches): split across the
// cores, each product on its own goroutine, when they are many and small
// (attention's per-head products), else in turn with products that may
// use every core.
func (p *matmulPlan) eachMatrix(f func(i int, serial bool)) {
	parallelSamples(p.batches, p.m*p.n*p.k, func(lo, hi int, serial bool) {
		for i := lo; i < hi; i++ {
			f(i, serial)
		}
	})
}

func matmulRun[T Float](p *matmulPlan) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		a, b, err := data2[T](in)
		if err != nil {
			return nil, err
		}
		out := make([]T, p.batches*p.m*p.n)
		matmulBody(p, [][]T{a, b}, out)
		return Dense(p.out, out), nil
	}
}

func matmulBody[T Float](p *matmulPlan, in [][]T, out []T) {
	a, b := in[0], in[1]
	m, k, n := p.m, p.k, p.n
	if p.flatA() {
		blasGemm(false, false, p.batches*m, n, k, 1, a, b, 0, out)
		return
	}
	p.eachMatrix(func(i int, serial bool) {
		gemmStridedMode(serial, false, false, m, n, k, 1, a[p.aIdx[i]*m*k:], max(k, 1), b[p.bIdx[i]*k*n:], max(n, 1), 0, out[i*m*n:], max(n, 1))
	})
}

// gradA: dA = dY * B^T per output matrix, summed over broadcast batches.
// Inputs (dY, B).
func (p *matmulPlan) gradA() IntoKernel {
	return p.into(matmulGradA[float32](p), matmulGradA[float64](p))
}

func matmulGradA[T Float](p *matmulPlan) func(in [][]T, da []T) {
	return func(in [][]T, da []T) {
		dy, b := in[0], in[1]
		m, k, n := p.m, p.k, p.n
		if p.flatA() {
			blasGemm(false, true, p.batches*m, k, n, 1, dy, b, 0, da)
			return
		}
		if p.aMats == p.batches { // one output matrix for each of A's
			p.eachMatrix(func(i int, serial bool) {
				gemmStridedMode(serial, false, true, m, k, n, 1, dy[i*m*n:], max(n, 1), b[p.bIdx[i]*k*n:], max(n, 1), 0, da[p.aIdx[i]*m*k:], max(k, 1))
			})
			return
		}
		clear(da)
		for i := 0; i < p.batches; i++ {
			blasGemm(false, true, m, k, n, 1, dy[i*m*n:], b[p.bIdx[i]*k*n:], 1, da[p.aIdx[i]*m*k:])
		}
	}
}

// gradB: dB = A^T * dY per output matrix, summed over broadcast batches.
// Inputs (A, dY).
func (p *matmulPlan) gradB() IntoKernel {
	return p.into(matmulGradB[float32](p), matmulGradB[float64](p))
}

func matmulGradB[T Float](p *matmulPlan) func(in [][]T, db []T) {
	return func(in [][]T, db []T) {
		a, dy := in[0], in[1]
		m, k, n := p.m, p.k, p.n
		if p.flatA() {
			blasGemm(true, false, k, n, p.batches*m, 1, a, dy, 0, db)
			return
		}
		if p.bMats == p.batches {
			p.eachMatrix(func(i int, serial bool) {
				gemmStridedMode(serial, true, false, k, n, m, 1, a[p.aIdx[i]*m*k:], max(k, 1), dy[i*m*n:], max(n, 1), 0, db[p.bIdx[i]*k*n:], max(n, 1))
			})
			return
		}
		clear(db)
		for i := 0; i < p.batches; i++ {
			blasGemm(true, false, k, n, m, 1, a[p.aIdx[i]*m*k:], dy[i*m*n:], 1, db[p.bIdx[i]*k*n:])
		}
	}
}

// lowerMatMul: numpy matmul. 1-D operands are promoted (A to a row, B to a
// column) and the added dimension removed; batch dimensions broadcast.
func lowerMatMul(c *Ctx, in []*Value) ([]*Value, error) {
	a, b := in[0], in[1]
	if !a.DType.IsFloat() || a.DType != b.DType {
		return nil, fmt.Errorf("inputs A (%s) and B (%s): want two float32 or float64 tensors", a.DType, b.DType)
	}
	p, err := newMatmulPlan(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	if w := b.transposeOf; w != nil && a.Rank() >= 2 && p.flatA() && w.DType == a.DType {
		return lowerMatMulT(c, p, a, w)
	}
	s := Spec{Name: "MatMul", Shape: p.out, DType: a.DType, Fwd: p.forward(), WRT: []bool{true, true},
		Into: p.into(func(in [][]float32, y []float32) { matmulBody(p, in, y) },
			func(in [][]float64, y []float64) { matmulBody(p, in, y) }), Overwrites: true}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		key := output.Name()
		dt := DTypeOf(inputs[0])
		ga, err := NewNode(grad.Graph(), key+"/GradA", Spec{Name: "MatMulGradA", Shape: p.aShape, DType: dt, Into: p.gradA(), Overwrites: true}, grad, inputs[1])
		if err != nil {
			return nil, err
		}
		gb, err := NewNode(grad.Graph(), key+"/GradB", Spec{Name: "MatMulGradB", Shape: p.bShape, DType: dt, Into: p.gradB(), Overwrites: true}, inputs[0], grad)
		return G.Nodes{ga, gb}, err
	}
	out, err := c.Apply(s, a, b)
	return []*Value{out}, err
}

// lowerMatMulT is MatMul(A, Transpose(W)) for a 2-D W [n, k] and A
// [..., m, k] (a Linear layer as PyTorch's exporter writes it without
// constant folding): Y = A·Wᵀ, dA = dY·W and dW = dYᵀ·A with GEMM's
// transposition flags, differentiated w.r.t. W itself, so that neither W
// nor its gradient is transposed every step.
func lowerMatMulT(c *Ctx, p *matmulPlan, a, w *Value) ([]*Value, error) {
	rows, k, n := p.batches*p.m, p.k, p.n
	s := Spec{Name: "MatMul", Shape: p.out, DType: a.DType, WRT: []bool{true, true}, Into: bodiesInto(
		func(in [][]float32, y []float32) { blasGemm(false, true, rows, n, k, 1, in[0], in[1], 0, y) },
		func(in [][]float64, y []float64) { blasGemm(false, true, rows, n, k, 1, in[0], in[1], 0, y) }), Overwrites: true}
	s.Grad = func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
		key := output.Name()
		dt := DTypeOf(inputs[0])
		ga, err := NewNode(grad.Graph(), key+"/GradA", Spec{Name: "MatMulGradA", Shape: p.aShape, DType: dt, Into: bodiesInto(
			func(in [][]float32, y []float32) { blasGemm(false, false, rows, k, n, 1, in[0], in[1], 0, y) },
			func(in [][]float64, y []float64) { blasGemm(false, false, rows, k, n, 1, in[0], in[1], 0, y) }), Overwrites: true}, grad, inputs[1])
		if err != nil {
			return nil, err
		}
		gw, err := NewNode(grad.Graph(), key+"/GradB", Spec{Name: "MatMulGradB", Shape: ShapeOf(inputs[1]), DType: dt, Into: bodiesInto(
			func(in [][]float32, y []float32) { blasGemm(true, false, n, k, rows, 1, in[1], in[0], 0, y) },
			func(in [][]float64, y []float64) { blasGemm(true, false, n, k, rows, 1, in[1], in[0], 0, y) }), Overwrites: true}, inputs[0], grad)
		return G.Nodes{ga, gw}, err
	}
	out, err := c.Apply(s, a, w)
	return []*Value{out}, err
}
