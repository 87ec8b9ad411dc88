//go:build !amd64 || purego

package ops

// lstmCellAsm is false here: lstmGatesPart's Go loops do all units.
var lstmCellAsm = false

// lstmCellVec does nothing here.
func lstmCellVec(i, f, g, cp, cell, hc []float32) int { return 0 }

// lstmHVec does nothing here.
func lstmHVec(o, hc, h []float32) int { return 0 }
