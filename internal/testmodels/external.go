package testmodels

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	pb "github.com/onnxtune/onnxtune/internal/onnxpb"
)

// Ext is where a hand-built model keeps one initializer's values: the
// location it records (relative to the model's folder, as written, so
// "./w.bin" and "w.bin" stay two spellings) and the offset in that file.
type Ext struct {
	Location string
	Offset   int64
}

// Externalize turns the ONNX model bytes b into a model whose initializers
// chosen by place keep their values in external data, as a hostile or
// unusual exporter could write it: for every initializer with raw_data for
// which place returns true, the bytes are written at Ext.Offset into the
// side file dir/Ext.Location (created or extended, never truncated; other
// bytes of the file are left as they are) and the tensor records location,
// offset and length. It returns the new model bytes; write them into dir.
func Externalize(t testing.TB, b []byte, dir string, place func(name string) (Ext, bool)) []byte {
	t.Helper()
	out, err := ExternalizeBytes(b, dir, place)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ExternalizeBytes is Externalize returning its error, for callers without
// a testing.TB (CLI test scripts).
func ExternalizeBytes(b []byte, dir string, place func(name string) (Ext, bool)) ([]byte, error) {
	var p pb.ModelProto
	if err := p.Unmarshal(b); err != nil {
		return nil, err
	}
	ext := pb.TensorProto_EXTERNAL
	for _, tp := range p.Graph.Initializer {
		e, ok := place(tp.GetName())
		if !ok || len(tp.RawData) == 0 {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(e.Location)), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		_, err = f.WriteAt(tp.RawData, e.Offset)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		entries := [][2]string{
			{"location", e.Location},
			{"offset", strconv.FormatInt(e.Offset, 10)},
			{"length", strconv.Itoa(len(tp.RawData))},
		}
		tp.RawData = nil
		tp.DataLocation = &ext
		tp.ExternalData = nil
		for _, kv := range entries {
			k, v := kv[0], kv[1]
			tp.ExternalData = append(tp.ExternalData, &pb.StringStringEntryProto{Key: &k, Value: &v})
		}
	}
	return p.Marshal()
}
