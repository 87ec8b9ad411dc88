//go:build !amd64 || purego

package vec

// This build has no assembly: level never leaves generic, and the
// functions below are never called.
const hasAVX2, hasAVX512 = false, false

func reluMaskAsm(int, []float32, []float32, []float32) int                           { return 0 }
func scaleShiftAsm(int, []float32, []float32, float32, float32, bool) int            { return 0 }
func affine2Asm(int, []float32, []float32, []float32, float32, float32, float32) int { return 0 }
func sgdMomentumAsm(int, []float32, []float32, []float32, float32, float32, float32, float32) int {
	return 0
}
func siluGradAsm(int, []float32, []float32, []float32, []float32) int      { return 0 }
func sumAsm(int, []float32) (float64, int)                                 { return 0, 0 }
func sqDevAsm(int, []float32, float64) (float64, int)                      { return 0, 0 }
func dotDevAsm(int, []float32, []float32, float64) (float64, float64, int) { return 0, 0, 0 }

func maxPoolRowAVX2(*float32, *int32, int, *int32, *uint16, int, *float32, *int64, int)            {}
func maxPoolRowAVX512(*float32, *int32, int, *int32, *uint16, int, *float32, *int64, int, *uint16) {}
func maxPoolRow3S2AVX2(*float32, *int32, int, *int32, *uint16, *float32, *int64, int, *uint32)     {}
func maxPool3S2AVX2(*float32, *float32, *int32, int, *int32, int, int, int)                        {}
func int64Ptr(*int) *int64                                                                         { return nil }
