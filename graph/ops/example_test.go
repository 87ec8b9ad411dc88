package ops_test

import (
	"fmt"
	"sync"

	"gorgonia.org/tensor"

	"github.com/onnxtune/onnxtune/graph/ops"
	"github.com/onnxtune/onnxtune/importer"
)

// One Runner shared by several goroutines, each running its own batch.
func ExampleRunner() {
	m, err := importer.Load("../../models/mlp_bn_eval.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := ops.NewRunner(m, ops.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	shapes := make([][]int, 4)
	var wg sync.WaitGroup
	for g := range shapes {
		wg.Go(func() {
			x := ops.Dense([]int{g + 1, 20}, make([]float32, (g+1)*20))
			outs, err := r.Run(map[string]*tensor.Dense{"input": x})
			if err != nil {
				fmt.Println(err)
				return
			}
			shapes[g] = ops.Shape(outs[0])
		})
	}
	wg.Wait()
	for g, s := range shapes {
		fmt.Printf("batch %d: logits %v\n", g+1, s)
	}
	// Output:
	// batch 1: logits [1 3]
	// batch 2: logits [2 3]
	// batch 3: logits [3 3]
	// batch 4: logits [4 3]
}
