//go:build !amd64 || purego

package ops

// lstmCellBuild says that this build has no assembly loops.
const lstmCellBuild = false

// lstmCellAsm and lstmCell8 are false here: lstmGatesPart's Go loops do
// all units.
var lstmCellAsm, lstmCell8 = false, false

// lstmCellVec does nothing here.
func lstmCellVec(i, f, g, cp, cell, hc []float32) int { return 0 }

// lstmHVec does nothing here.
func lstmHVec(o, hc, h []float32) int { return 0 }
