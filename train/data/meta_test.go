package data

import (
	"reflect"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
)

// TestMetadata: SetMetadata writes the keys (replacing earlier values,
// keeping other keys), ReadMetadata reads them back, and refuses values
// that are not onnxtune's preprocessing.
func TestMetadata(t *testing.T) {
	m := &graph.Model{Metadata: []graph.StringPair{{Key: "author", Value: "me"}, {Key: MetaClassNames, Value: `["old"]`}}}
	pre := Preprocess{Size: [2]int{224, 200}, Resize: "center_crop", CropPct: 0.875, Interpolation: "bilinear",
		Mean: []float64{0.5}, Std: []float64{0.25}, Grayscale: true}
	if err := SetMetadata(m, []string{"cat", "dög", `"q"`}, &pre); err != nil {
		t.Fatal(err)
	}
	if len(m.Metadata) != 3 || m.Metadata[0].Key != "author" {
		t.Errorf("metadata %+v: want author kept, class names replaced, preprocessing added", m.Metadata)
	}
	classes, got, err := ReadMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(classes, []string{"cat", "dög", `"q"`}) || got == nil || !reflect.DeepEqual(*got, pre) {
		t.Errorf("read back %q, %+v; want %+v", classes, got, pre)
	}
	DeleteMetadata(m, MetaClassNames)
	if classes, _, _ := ReadMetadata(m); classes != nil {
		t.Errorf("after DeleteMetadata: names %q", classes)
	}
	for _, bad := range []string{
		`{"size":[0,5],"resize":"center_crop","crop_pct":1,"interpolation":"bilinear"}`,
		`{"size":[5,5],"resize":"center_crop","crop_pct":0,"interpolation":"bilinear"}`,
		`{"size":[5,5],"resize":"stretch","crop_pct":1,"interpolation":"bilinear"}`,
		`{"size":[5,5],"resize":"center_crop","crop_pct":1,"interpolation":"lanczos"}`,
		`{"size":[5,5],"resize":"center_crop","crop_pct":-1,"interpolation":"bilinear"}`,
		`not json`,
	} {
		m := &graph.Model{Metadata: []graph.StringPair{{Key: MetaPreprocess, Value: bad}}}
		if _, _, err := ReadMetadata(m); err == nil || !strings.Contains(err.Error(), MetaPreprocess) {
			t.Errorf("%s: error %v, want one naming %s", bad, err, MetaPreprocess)
		}
	}
	m = &graph.Model{Metadata: []graph.StringPair{{Key: MetaClassNames, Value: `{"a":1}`}}}
	if _, _, err := ReadMetadata(m); err == nil {
		t.Errorf("class names that are not a list: no error")
	}
}
