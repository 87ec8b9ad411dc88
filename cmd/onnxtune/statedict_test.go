package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxtune/onnxtune/graph"
	"github.com/onnxtune/onnxtune/importer"
)

// manifestEntry is one export listed in models/manifest.json.
type manifestEntry struct {
	Arch      string `json:"arch"`
	File      string `json:"file"`
	Mode      string `json:"mode"` // eval, preserve or training
	StateDict string `json:"state_dict"`
	Status    string `json:"status"`
}

// stateDictEntry is one tensor of PyTorch's state_dict, as make_models.py
// wrote it.
type stateDictEntry struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	DType string  `json:"dtype"`
}

// inspectParam is one entry of inspect --json's "parameters".
type inspectParam struct {
	Name        string  `json:"name"`
	Shape       []int64 `json:"shape"`
	DType       string  `json:"dtype"`
	Role        string  `json:"role"`
	Initializer string  `json:"initializer"`
	Tied        bool    `json:"tied"`
}

// TestInspectStateDict checks, for every sample model, that inspect --json
// lists the parameters under the PyTorch names and shapes of the model's
// state_dict (written by models/make_models.py from PyTorch itself).
//
// preserve and training exports keep every state_dict tensor: each must be
// listed with its shape (num_batches_tracked aside, which the exporter
// drops). eval exports fuse Conv+BatchNorm: each listed parameter must be a
// state_dict tensor of the same shape or the fused bias of a conv whose
// weight is in the state_dict, and no Conv, Gemm or BatchNormalization may
// read a parameter listed under an onnx:: name.
func TestInspectStateDict(t *testing.T) {
	checkManifest(t, filepath.Join("..", "..", "models"))
}

// TestInspectStateDictBig does the same for the torchvision models of
// models/big, when make_models.py --big has made them (they are not
// committed).
func TestInspectStateDictBig(t *testing.T) {
	dir := filepath.Join("..", "..", "models", "big")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Skip("no models/big (run models/make_models.py --big)")
	}
	if testing.Short() {
		t.Skip("big models skipped in -short mode")
	}
	checkManifest(t, dir)
}

// TestConvertStateDict converts every sample model and checks the result
// as TestInspectStateDict does; besides, no parameter of the result may be
// tied or keep an onnx:: initializer.
func TestConvertStateDict(t *testing.T) {
	for _, e := range readManifest(t, filepath.Join("..", "..", "models")) {
		t.Run(strings.TrimSuffix(e.File, ".onnx"), func(t *testing.T) {
			if e.Status != "ok" {
				t.Skipf("status %q in the manifest", e.Status)
			}
			out := filepath.Join(t.TempDir(), e.File)
			var stdout, stderr bytes.Buffer
			in := filepath.Join("..", "..", "models", e.File)
			if code := run([]string{"convert", in, "-o", out}, &stdout, &stderr); code != exitOK {
				t.Fatalf("convert exit %d: %s", code, &stderr)
			}
			params := checkModel(t, out, filepath.Join("..", "..", "models", e.StateDict), e.Mode)
			for _, p := range params {
				if p.Tied {
					t.Errorf("parameter %s is still tied (initializer %s)", p.Name, p.Initializer)
				}
				if strings.HasPrefix(p.Initializer, "onnx::") {
					t.Errorf("parameter %s keeps initializer %s", p.Name, p.Initializer)
				}
			}
		})
	}
}

func readManifest(t *testing.T, dir string) []manifestEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest []manifestEntry
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) == 0 {
		t.Fatal("manifest.json lists no model")
	}
	return manifest
}

func checkManifest(t *testing.T, dir string) {
	for _, e := range readManifest(t, dir) {
		name := strings.TrimSuffix(e.File, ".onnx")
		if name == "" {
			name = e.Arch + "_" + e.Mode // failed exports have no file
		}
		t.Run(name, func(t *testing.T) {
			if e.Status != "ok" {
				t.Skipf("status %q in the manifest", e.Status)
			}
			checkModel(t, filepath.Join(dir, e.File), filepath.Join(dir, e.StateDict), e.Mode)
		})
	}
}

// checkModel checks inspect --json's parameters of the model at path
// against the state_dict in sdPath for an export in mode, and returns them.
func checkModel(t *testing.T, path, sdPath, mode string) []inspectParam {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"inspect", "--json", path}, &stdout, &stderr); code != exitOK {
		t.Fatalf("inspect exit %d: %s", code, &stderr)
	}
	var out struct {
		Parameters []inspectParam `json:"parameters"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("inspect --json: %v", err)
	}
	b, err := os.ReadFile(sdPath)
	if err != nil {
		t.Fatal(err)
	}
	var sd []stateDictEntry
	if err := json.Unmarshal(b, &sd); err != nil {
		t.Fatalf("%s: %v", sdPath, err)
	}
	want := make(map[string]stateDictEntry, len(sd))
	for _, s := range sd {
		want[s.Name] = s
	}
	got := make(map[string]inspectParam, len(out.Parameters))
	for _, p := range out.Parameters {
		if _, dup := got[p.Name]; dup {
			t.Errorf("parameter %s listed twice", p.Name)
		}
		got[p.Name] = p
	}

	switch mode {
	case "preserve", "training":
		for _, s := range sd {
			if strings.HasSuffix(s.Name, ".num_batches_tracked") || s.Name == "num_batches_tracked" {
				continue
			}
			p, ok := got[s.Name]
			switch {
			case !ok:
				t.Errorf("state_dict %s %v is not listed", s.Name, s.Shape)
			case !slices.Equal(p.Shape, s.Shape) || p.DType != s.DType:
				t.Errorf("%s: listed as %s %v, state_dict has %s %v", s.Name, p.DType, p.Shape, s.DType, s.Shape)
			}
		}
	case "eval":
		m, err := importer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		readers := readersOf(m.Graph)
		for _, p := range out.Parameters {
			s, ok := want[p.Name]
			switch {
			case ok:
				if !slices.Equal(p.Shape, s.Shape) || p.DType != s.DType {
					t.Errorf("%s: listed as %s %v, state_dict has %s %v", p.Name, p.DType, p.Shape, s.DType, s.Shape)
				}
			case isFusedBias(p, want, readers[p.Initializer]):
			default:
				t.Errorf("parameter %s %v (initializer %s) is not in the state_dict", p.Name, p.Shape, p.Initializer)
			}
			if strings.HasPrefix(p.Name, "onnx::") {
				for _, u := range readers[p.Initializer] {
					switch u.Node.OpType {
					case "Conv", "Gemm", "BatchNormalization":
						t.Errorf("parameter %s: input %d of %s %q keeps its onnx:: name", p.Name, u.Index, u.Node.OpType, u.Node.Name)
					}
				}
			}
		}
	default:
		t.Fatalf("unknown mode %q in the manifest", mode)
	}
	return out.Parameters
}

// isFusedBias reports whether p is MODULE.bias read as a Conv's bias where
// MODULE.weight is in the state_dict: the bias the exporter made when it
// fused a BatchNorm into a conv that had none.
func isFusedBias(p inspectParam, want map[string]stateDictEntry, uses []graph.Use) bool {
	module, ok := strings.CutSuffix(p.Name, ".bias")
	if !ok {
		return false
	}
	w, ok := want[module+".weight"]
	if !ok || len(w.Shape) == 0 || !slices.Equal(p.Shape, w.Shape[:1]) {
		return false
	}
	for _, u := range uses {
		if u.Node.OpType == "Conv" && u.Index == 2 {
			return true
		}
	}
	return false
}

// readersOf maps each initializer to the node inputs that read it, directly
// or through Identity nodes.
func readersOf(g *graph.Graph) map[string][]graph.Use {
	consumers := g.Consumers()
	out := make(map[string][]graph.Use)
	for _, t := range g.Initializers {
		queue := []string{t.Name}
		for len(queue) > 0 {
			v := queue[0]
			queue = queue[1:]
			for _, u := range consumers[v] {
				if u.Node.OpType == "Identity" && len(u.Node.Outputs) == 1 {
					queue = append(queue, u.Node.Outputs[0])
					continue
				}
				out[t.Name] = append(out[t.Name], u)
			}
		}
	}
	return out
}
