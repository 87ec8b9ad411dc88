//go:build purego || !amd64

package ops

// winoAsm is false: the Go loops do every tile.
var winoAsm = false

func winoInputAsm(pad []float32, offs []int32, wp int, v []float32, vs int, n int) {
	panic("not reached")
}

func winoOutputAsm(mm []float32, ms int, offs []int32, y []float32, wo int, n int, bias float32, relu bool) {
	panic("not reached")
}

func winoGradAsm(d []float32, offs []int32, wo int, dm []float32, ms int, n int) {
	panic("not reached")
}
