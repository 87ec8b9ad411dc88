package ops

import (
	"fmt"
	"slices"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/internal/gemm"
)

// registerEinsum adds Einsum: the batched products of attention as the
// exporters write torch.einsum ("bhid,bhjd->bhij", "bij,bjk->bik"),
// transposes, diagonals, traces and sums; "..." broadcasts as NumPy's.
func registerEinsum(r *Registry) {
	r.add(OpInfo{Name: "Einsum", Differentiable: true, Lower: lowerEinsum})
}

// einsumSpec is a parsed equation for given input shapes: the label of
// every dimension of every operand, the output's labels (distinct) and the
// size of every label. Letters are labels 0-51, the dimensions "..."
// stands for are 52 and up (right-aligned across operands).
type einsumSpec struct {
	terms [][]int
	out   []int
	size  []int
}

const esEllipsis = 52

func esLetter(r rune) (int, bool) {
	switch {
	case r >= 'a' && r <= 'z':
		return int(r - 'a'), true
	case r >= 'A' && r <= 'Z':
		return 26 + int(r-'A'), true
	}
	return 0, false
}

// esTerm parses one term: its letters and where "..." is (-1: none).
func esTerm(s string) (letters []int, ell int, err error) {
	ell = -1
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "...") {
			if ell >= 0 {
				return nil, 0, fmt.Errorf("term %q has two ellipses", s)
			}
			ell, i = len(letters), i+3
			continue
		}
		l, ok := esLetter(rune(s[i]))
		if !ok {
			return nil, 0, fmt.Errorf("term %q: %q is not a letter", s, s[i])
		}
		letters, i = append(letters, l), i+1
	}
	return letters, ell, nil
}

func parseEinsum(eq string, shapes [][]int) (*einsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(shapes) {
		return nil, fmt.Errorf("equation %q has %d operands, the node %d inputs", eq, len(terms), len(shapes))
	}
	sp := &einsumSpec{size: make([]int, esEllipsis)}
	for i := range sp.size {
		sp.size[i] = -1
	}
	ellRank := 0
	parsed := make([][]int, len(terms))
	ells := make([]int, len(terms))
	for k, t := range terms {
		letters, ell, err := esTerm(t)
		if err != nil {
			return nil, err
		}
		r := len(shapes[k])
		if (ell < 0 && r != len(letters)) || r < len(letters) {
			return nil, fmt.Errorf("term %q does not fit input %d of shape %v", t, k, shapes[k])
		}
		parsed[k], ells[k] = letters, ell
		if ell >= 0 {
			ellRank = max(ellRank, r-len(letters))
		}
	}
	for range ellRank {
		sp.size = append(sp.size, -1)
	}
	for k, letters := range parsed {
		var labels []int
		e := len(shapes[k]) - len(letters)
		for i, l := range letters {
			if i == ells[k] {
				for d := range e {
					labels = append(labels, esEllipsis+ellRank-e+d)
				}
			}
			labels = append(labels, l)
		}
		if ells[k] == len(letters) {
			for d := range e {
				labels = append(labels, esEllipsis+ellRank-e+d)
			}
		}
		for d, l := range labels {
			// Sizes broadcast as PyTorch's einsum: a dimension of 1 goes
			// along any length.
			switch n := shapes[k][d]; {
			case sp.size[l] < 0 || sp.size[l] == 1:
				sp.size[l] = n
			case n != 1 && n != sp.size[l]:
				return nil, fmt.Errorf("term %q: a label is %d and %d long", terms[k], sp.size[l], n)
			}
		}
		sp.terms = append(sp.terms, labels)
	}
	if explicit {
		letters, ell, err := esTerm(rhs)
		if err != nil {
			return nil, err
		}
		for i, l := range letters {
			if i == ell {
				for d := range ellRank {
					sp.out = append(sp.out, esEllipsis+d)
				}
			}
			sp.out = append(sp.out, l)
		}
		if ell == len(letters) {
			for d := range ellRank {
				sp.out = append(sp.out, esEllipsis+d)
			}
		}
		seen := make(map[int]bool)
		for _, l := range sp.out {
			if seen[l] {
				return nil, fmt.Errorf("output %q repeats a label", rhs)
			}
			if l < esEllipsis && sp.size[l] < 0 {
				return nil, fmt.Errorf("output %q has a label no operand has", rhs)
			}
			seen[l] = true
		}
	} else {
		// Implicit: the broadcast dimensions, then the letters that occur
		// once, in alphabetical order.
		for d := range ellRank {
			sp.out = append(sp.out, esEllipsis+d)
		}
		once := make([]int, esEllipsis)
		for _, labels := range sp.terms {
			for _, l := range labels {
				if l < esEllipsis {
					once[l]++
				}
			}
		}
		for l, n := range once {
			if n == 1 {
				sp.out = append(sp.out, l)
			}
		}
	}
	return sp, nil
}

// esView is an operand seen over its distinct labels: the stride of each
// (the sum of its dimensions' strides: a repeated label walks the
// diagonal; 0 for a dimension of 1 broadcast along a longer label).
type esView struct {
	labels, strides []int
}

func (sp *einsumSpec) view(labels, shape []int) esView {
	var v esView
	stride := 1
	st := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		st[d], stride = stride, stride*shape[d]
	}
	for d, l := range labels {
		s := st[d]
		if shape[d] != sp.size[l] {
			s = 0
		}
		if i := slices.Index(v.labels, l); i >= 0 {
			v.strides[i] += s
			continue
		}
		v.labels, v.strides = append(v.labels, l), append(v.strides, s)
	}
	return v
}

// contiguous is the view of a row-major tensor over distinct labels.
func (sp *einsumSpec) contiguous(labels []int) esView {
	shape := make([]int, len(labels))
	for i, l := range labels {
		shape[i] = sp.size[l]
	}
	return sp.view(labels, shape)
}

// esStep is one step of an evaluation: reduce operand 0 (the running
// result) and operand `with` to [batch, free, contracted] and [batch,
// contracted, free] and multiply them, giving labels batch+fa+fb; or, for
// the last step (with < 0), reduce the running result to the output.
type esStep struct {
	with                    int
	batch, fa, fb, contr    []int
	a, b                    esView // the views of the two operands
	nb, m, n, k             int
	aWant, bWant, outLabels []int
}

// esPlan folds the operands left to right, keeping after each product the
// labels later operands or the output need.
type esPlan struct {
	steps []esStep
	final esView // the running result's view, reduced to out
	out   []int
}

func (sp *einsumSpec) plan(views []esView, out []int) esPlan {
	var p esPlan
	cur := views[0]
	for k := 1; k < len(views); k++ {
		need := make(map[int]bool)
		for _, v := range views[k+1:] {
			for _, l := range v.labels {
				need[l] = true
			}
		}
		for _, l := range out {
			need[l] = true
		}
		b := views[k]
		s := esStep{with: k, a: cur, b: b}
		for _, l := range cur.labels {
			inB := slices.Contains(b.labels, l)
			switch {
			case inB && need[l]:
				s.batch = append(s.batch, l)
			case inB:
				s.contr = append(s.contr, l)
			case need[l]:
				s.fa = append(s.fa, l)
			}
		}
		for _, l := range b.labels {
			if !slices.Contains(cur.labels, l) && need[l] {
				s.fb = append(s.fb, l)
			}
		}
		prod := func(ls []int) int {
			n := 1
			for _, l := range ls {
				n *= sp.size[l]
			}
			return n
		}
		s.nb, s.m, s.n, s.k = prod(s.batch), prod(s.fa), prod(s.fb), prod(s.contr)
		s.aWant = slices.Concat(s.batch, s.fa, s.contr)
		s.bWant = slices.Concat(s.batch, s.contr, s.fb)
		s.outLabels = slices.Concat(s.batch, s.fa, s.fb)
		p.steps = append(p.steps, s)
		cur = sp.contiguous(s.outLabels)
	}
	p.final, p.out = cur, out
	return p
}

// sizes lists the shapes the plan allocates (checked against the limits).
func (p esPlan) sizes(sp *einsumSpec) [][]int {
	var out [][]int
	shape := func(ls []int) []int {
		s := make([]int, len(ls))
		for i, l := range ls {
			s[i] = sp.size[l]
		}
		return s
	}
	for _, s := range p.steps {
		out = append(out, shape(s.aWant), shape(s.bWant), shape(s.outLabels))
	}
	return append(out, shape(p.out))
}

// esReduce copies the view of data to a row-major tensor over want (labels
// of the view), summing over the view's other labels.
func esReduce[T Float](sp *einsumSpec, data []T, v esView, want []int) []T {
	all := slices.Clone(want)
	for _, l := range v.labels {
		if !slices.Contains(want, l) {
			all = append(all, l)
		}
	}
	n := len(all)
	size, in, outSt := make([]int, n), make([]int, n), make([]int, n)
	total, o := 1, 1
	for i := n - 1; i >= 0; i-- {
		size[i] = sp.size[all[i]]
		in[i] = v.strides[slices.Index(v.labels, all[i])]
		if i < len(want) {
			outSt[i], o = o, o*size[i]
		}
		total *= size[i]
	}
	out := make([]T, o)
	if total == 0 {
		return out
	}
	idx := make([]int, n)
	inOff, outOff := 0, 0
	for range total {
		out[outOff] += data[inOff]
		for d := n - 1; d >= 0; d-- {
			idx[d]++
			inOff += in[d]
			outOff += outSt[d]
			if idx[d] < size[d] {
				break
			}
			inOff -= in[d] * size[d]
			outOff -= outSt[d] * size[d]
			idx[d] = 0
		}
	}
	return out
}

// esMatMul: c[b] = a[b] (m x k) times bm[b] (k x n).
func esMatMul[T Float](a, bm []T, nb, m, n, k int) []T {
	c := make([]T, nb*m*n)
	for b := range nb {
		ab, bb, cb := a[b*m*k:(b+1)*m*k], bm[b*k*n:(b+1)*k*n], c[b*m*n:(b+1)*m*n]
		if a32, ok := any(ab).([]float32); ok && m > 0 && n > 0 && k > 0 {
			gemm.Sgemm(false, false, m, n, k, 1, a32, k, any(bb).([]float32), n, 0, any(cb).([]float32), n)
			continue
		}
		for i := range m {
			ci := cb[i*n : (i+1)*n]
			for kk := range k {
				av := ab[i*k+kk]
				for j, bv := range bb[kk*n : (kk+1)*n] {
					ci[j] += av * bv
				}
			}
		}
	}
	return c
}

// esRun evaluates a plan on the operands' data.
func esRun[T Float](sp *einsumSpec, p esPlan, data [][]T) []T {
	cur := data[0]
	for _, s := range p.steps {
		a := esReduce(sp, cur, s.a, s.aWant)
		b := esReduce(sp, data[s.with], s.b, s.bWant)
		cur = esMatMul(a, b, s.nb, s.m, s.n, s.k)
	}
	return esReduce(sp, cur, p.final, p.out)
}

// esGrad is the gradient of operand k: the product of the output's
// gradient and the other operands over the labels of k that are not
// broadcast and that they have, placed on k's diagonals and broadcast
// along k's labels no one else has (PyTorch's einsum backward).
type esGrad struct {
	k      int
	plan   esPlan
	labels []int // the gradient product's labels
	shape  []int // operand k's shape
}

func (sp *einsumSpec) gradPlan(k int, shapes [][]int) esGrad {
	views := []esView{sp.contiguous(sp.out)}
	have := make(map[int]bool)
	for _, l := range sp.out {
		have[l] = true
	}
	for i := range shapes {
		if i != k {
			v := sp.view(sp.terms[i], shapes[i])
			views = append(views, v)
			for _, l := range v.labels {
				have[l] = true
			}
		}
	}
	var labels []int
	for d, l := range sp.terms[k] {
		if shapes[k][d] == sp.size[l] && have[l] && !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return esGrad{k: k, plan: sp.plan(views, labels), labels: labels, shape: shapes[k]}
}

func esGradRun[T Float](sp *einsumSpec, g esGrad, grad []T, data [][]T) []T {
	ops := [][]T{grad}
	for i, d := range data {
		if i != g.k {
			ops = append(ops, d)
		}
	}
	prod := esRun(sp, g.plan, ops)
	pv := sp.contiguous(g.labels)
	labels := sp.terms[g.k]
	out := make([]T, sizeOf(g.shape))
	idx := make([]int, len(g.shape))
	at := make([]int, len(sp.size))
	for i := range out {
		ok := true
		for l := range at {
			at[l] = -1
		}
		for d, l := range labels {
			v := idx[d]
			if g.shape[d] != sp.size[l] {
				continue // broadcast: summed over
			}
			if at[l] >= 0 && at[l] != v {
				ok = false // off a diagonal
			}
			at[l] = v
		}
		if ok {
			off := 0
			for j, l := range pv.labels {
				off += at[l] * pv.strides[j]
			}
			out[i] = prod[off]
		}
		for d := len(idx) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < g.shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// lowerEinsum: attribute equation; float inputs.
func lowerEinsum(c *Ctx, in []*Value) ([]*Value, error) {
	eq := c.attrs().String("equation", "")
	if eq == "" {
		return nil, fmt.Errorf("attribute equation is required")
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("no input")
	}
	shapes := make([][]int, len(in))
	for i, v := range in {
		if v == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
		if !v.DType.IsFloat() || v.DType != in[0].DType {
			return nil, fmt.Errorf("input %d is %s, want float32 or float64 as input 0", i, v.DType)
		}
		shapes[i] = v.Shape
	}
	sp, err := parseEinsum(eq, shapes)
	if err != nil {
		return nil, err
	}
	views := make([]esView, len(in))
	for i := range in {
		views[i] = sp.view(sp.terms[i], shapes[i])
	}
	p := sp.plan(views, sp.out)
	grads := make([]esGrad, len(in))
	for i := range in {
		grads[i] = sp.gradPlan(i, shapes)
	}
	dt := in[0].DType
	for _, pl := range append([]esPlan{p}, func() (ps []esPlan) {
		for _, g := range grads {
			ps = append(ps, g.plan)
		}
		return
	}()...) {
		for _, s := range pl.sizes(sp) {
			if err := c.checkShape("Einsum intermediate", s, dt); err != nil {
				return nil, err
			}
		}
	}
	all := p.sizes(sp)
	outShape := all[len(all)-1]
	wrt := make([]bool, len(in))
	for i := range wrt {
		wrt[i] = true
	}
	y, err := c.Apply(Spec{Name: "Einsum", Shape: outShape, DType: dt,
		Fwd: floats(esKernel[float32](sp, p, outShape), esKernel[float64](sp, p, outShape)),
		WRT: wrt, Grad: func(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
			out := make(G.Nodes, len(inputs))
			for i := range inputs {
				args := append(G.Nodes{grad}, inputs...)
				var err error
				out[i], err = NewNode(grad.Graph(), fmt.Sprintf("%s/grad%d", output.Name(), i), Spec{Name: "EinsumGrad",
					Shape: shapes[i], DType: dt, Fwd: floats(esGradKernel[float32](sp, grads[i]), esGradKernel[float64](sp, grads[i]))}, args...)
				if err != nil {
					return nil, err
				}
			}
			return out, nil
		}}, in...)
	return []*Value{y}, err
}

func esKernel[T Float](sp *einsumSpec, p esPlan, shape []int) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		return Dense(shape, esRun(sp, p, d)), nil
	}
}

func esGradKernel[T Float](sp *einsumSpec, g esGrad) Kernel {
	return func(in []*tensor.Dense) (*tensor.Dense, error) {
		d, err := datas[T](in)
		if err != nil {
			return nil, err
		}
		return Dense(g.shape, esGradRun(sp, g, d[0], d[1:])), nil
	}
}
