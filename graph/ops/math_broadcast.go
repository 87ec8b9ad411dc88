package ops

import "fmt"

// broadcastInto runs Add, Sub, Mul or Div (op) on float inputs of shapes sa
// and sb broadcast to out, into a kept buffer. It computes in the inputs'
// type: for float32 that is binaryKernel's float32(f(float64(x),
// float64(y))) bit for bit, since one operation rounded to float64 and then
// to float32 rounds as the float32 operation does. A bias (an input whose
// shape is a suffix of out's, the other of out's shape) and a scalar run as
// plain loops over rows.
func broadcastInto(op elemOp, sa, sb, out []int) IntoKernel {
	sa, sb, out = append([]int{}, sa...), append([]int{}, sb...), append([]int{}, out...)
	return bodiesInto(broadcastBody[float32](op, sa, sb, out), broadcastBody[float64](op, sa, sb, out))
}

func broadcastBody[T Float](op elemOp, sa, sb, out []int) func(in [][]T, y []T) {
	f := elemFunc[T](op)
	full := sameInts(sa, out)
	rowsA := !full && sameInts(sb, out) && suffixOf(sa, out)
	rowsB := full && suffixOf(sb, out)
	return func(in [][]T, y []T) {
		a, b := in[0], in[1]
		if len(a) != sizeOf(sa) || len(b) != sizeOf(sb) || len(y) != sizeOf(out) {
			panic(fmt.Sprintf("%v and %v elements for shapes %v and %v", len(a), len(b), sa, sb))
		}
		switch {
		case rowsB && len(b) == 1:
			parallelRange(len(y), 1, func(lo, hi int) { elemScalar(op, y[lo:hi], a[lo:hi], b[0], false) })
		case rowsA && len(a) == 1:
			parallelRange(len(y), 1, func(lo, hi int) { elemScalar(op, y[lo:hi], b[lo:hi], a[0], true) })
		case rowsB && len(b) > 0:
			cols := len(b)
			parallelRange(len(y)/cols, cols, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					elemRow(op, y[r*cols:(r+1)*cols], a[r*cols:(r+1)*cols], b, false)
				}
			})
		case rowsA && len(a) > 0:
			cols := len(a)
			parallelRange(len(y)/cols, cols, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					elemRow(op, y[r*cols:(r+1)*cols], b[r*cols:(r+1)*cols], a, true)
				}
			})
		default:
			zipStrided(y, a, b, sa, sb, out, f)
		}
	}
}

// elemRow sets y[j] = x[j] op r[j], or r[j] op x[j] when swap (r is the
// broadcast row).
func elemRow[T Float](op elemOp, y, x, r []T, swap bool) {
	y, x = y[:len(r)], x[:len(r)]
	switch {
	case op == opAdd:
		for j, v := range x {
			y[j] = v + r[j]
		}
	case op == opMul:
		for j, v := range x {
			y[j] = v * r[j]
		}
	case op == opSub && !swap:
		for j, v := range x {
			y[j] = v - r[j]
		}
	case op == opSub:
		for j, v := range x {
			y[j] = r[j] - v
		}
	case op == opDiv && !swap:
		for j, v := range x {
			y[j] = v / r[j]
		}
	default:
		for j, v := range x {
			y[j] = r[j] / v
		}
	}
}

// elemScalar sets y[j] = x[j] op s, or s op x[j] when swap.
func elemScalar[T Float](op elemOp, y, x []T, s T, swap bool) {
	y = y[:len(x)]
	switch {
	case op == opAdd:
		for j, v := range x {
			y[j] = v + s
		}
	case op == opMul:
		for j, v := range x {
			y[j] = v * s
		}
	case op == opSub && !swap:
		for j, v := range x {
			y[j] = v - s
		}
	case op == opSub:
		for j, v := range x {
			y[j] = s - v
		}
	case op == opDiv && !swap:
		for j, v := range x {
			y[j] = v / s
		}
	default:
		for j, v := range x {
			y[j] = s / v
		}
	}
}

// elemFunc is the function of Add, Sub, Mul or Div.
func elemFunc[T Float](op elemOp) func(x, y T) T {
	switch op {
	case opAdd:
		return func(x, y T) T { return x + y }
	case opSub:
		return func(x, y T) T { return x - y }
	case opMul:
		return func(x, y T) T { return x * y }
	}
	return func(x, y T) T { return x / y }
}

// suffixOf reports whether s, but for leading 1s, is a suffix of out.
func suffixOf(s, out []int) bool {
	for len(s) > 0 && s[0] == 1 {
		s = s[1:]
	}
	return len(s) <= len(out) && sameInts(s, out[len(out)-len(s):])
}
