package train_test

import "testing"

// TestConstantWeights: a dynamo export whose parameters are Constant nodes
// (models/make_constant_weights.py makes one from lenet_dynamo.onnx, same
// bytes) lists them under their state_dict names with PyTorch's element
// count, and three SGD steps with two groups at batch 5 (exported at 2)
// give PyTorch's weights, as for the export with initializers.
func TestConstantWeights(t *testing.T) {
	c, ok := todayCases(t)["lenet_dynamo"]
	if !ok {
		t.Fatal("models/today has no lenet_dynamo")
	}
	c.exp.File = "../constants/lenet_dynamo_constants.onnx"
	t.Run("params", func(t *testing.T) { todayParamTable(t, c) })
	t.Run("train", func(t *testing.T) { todayTrain(t, c) })
}
