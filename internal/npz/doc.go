// Package npz reads and writes NumPy .npz archives, the bridge format for
// tensors between onnxtune and Python (numpy.savez, numpy.savez_compressed,
// numpy.load).
//
// An archive maps names to arrays (Array): dense, C-ordered, of one of the
// element types float32, float64, float16 (numpy's '<f2', held as
// []graph.F16: its bits, which graph's codec converts), int64, int32, int8,
// uint8 and bool. numpy has no bfloat16: a bfloat16 input is fed from
// float32 values (train/data rounds them).
//
// Reading uses codeberg.org/sbinet/npyio to decode each .npy member (stored
// or deflated), after checking what it is about to allocate: members may
// not share compressed bytes, each declares no more than its compressed
// bytes can inflate to, and the members one by one and together stay within
// Options.MaxBytes (graph.DefaultMaxBytes unless set; a *graph.LimitError
// otherwise). A damaged or hostile file gives an error, never a panic or a
// huge allocation; a path that is not a regular file (a FIFO, a device) is
// refused before it is opened. Fortran-ordered arrays and other element
// types are rejected with an error. npyio reads the headers; float16 data,
// which it cannot read into a slice, are read here.
//
// Writing encodes the .npy members itself (npyio can only record the shape
// (len,) of a Go slice), as numpy.save does: format 1.0 (2.0 for very long
// headers), little-endian, C order, headers padded to 64 bytes; members are
// stored uncompressed, in name order, like numpy.savez. Write replaces its
// file atomically.
package npz
