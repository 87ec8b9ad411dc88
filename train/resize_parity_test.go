package train_test

import (
	"path/filepath"
	"testing"
)

// The UNet of models/make_resize.py (nn.Upsample nearest and bilinear with
// and without align_corners, F.interpolate by size and by scale factor,
// bicubic; a pooled Linear head), exported by torch 2.14's two exporters,
// checked with models/today's harness: the parameter table against the
// state_dict, the engine against ONNX Runtime, and three SGD steps with
// two groups against PyTorch's.
var resizeDir = filepath.Join("..", "models", "resize")

var resizeExports = []string{"unet_dynamo", "unet_ts"}

func TestResizeParamTable(t *testing.T)    { runCases(t, resizeDir, resizeExports, todayParamTable) }
func TestResizeRunMatchesORT(t *testing.T) { runCases(t, resizeDir, resizeExports, todayRun) }

// The training batch (5) differs from the export batch (2): unet_dynamo's
// Resize sizes hold the export batch ([2, 6, 11, 11]), which
// remap.DynamicBatch takes from the input's shape.
func TestResizeTrainParity(t *testing.T) { runCases(t, resizeDir, resizeExports, todayTrain) }
