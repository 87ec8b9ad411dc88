//go:build !amd64 || purego

package vec

func block(int) int { return 1 }

func mulAddVecAsm(int, []float32, []float32, []float32, []float32) int { return 0 }
func affine2VecAsm(int, []float32, []float32, []float32, []float32, []float32, []float32) int {
	return 0
}
func widenAddAsm(int, []float64, []float32) int                 { return 0 }
func widenSqDevAddAsm(int, []float64, []float32, []float64) int { return 0 }
func widenDotDevAddAsm(int, []float64, []float64, []float32, []float32, []float64) int {
	return 0
}
