package data_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/onnxtune/onnxtune/train/data"
)

// timm's recipe on an image folder of mixed sizes: RandomResizedCrop,
// flips and color jitter for training, Resize + CenterCrop (crop_pct
// 0.875) for evaluation, which the exported model records.
func ExampleAugment() {
	root := filepath.Join("..", "..", "models", "augment", "folder")
	eval := data.Options{ImageSize: [2]int{7, 7}, CropPct: 0.875}
	trainOpts := eval
	trainOpts.Augment = &data.Augment{Scale: [2]float64{0.08, 1}, HFlip: 0.5, ColorJitter: 0.4, Seed: 1}
	ds, err := data.Open(root, trainOpts)
	if err != nil {
		log.Fatal(err)
	}
	l, err := data.NewLoader(ds, 8, true, 1)
	if err != nil {
		log.Fatal(err)
	}
	b, err := l.Batch(3, 0) // epoch 3's draws, the same in a resumed run
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("training batch", b.Inputs["x"].Shape())
	val, err := data.Open(root, eval)
	if err != nil {
		log.Fatal(err)
	}
	classes, pre, _ := data.Describe(val)
	fmt.Println(classes, pre.Size, pre.Resize, pre.CropPct)
	// Output:
	// training batch (8, 3, 7, 7)
	// [cat dog eel] [7 7] center_crop 0.875
}
