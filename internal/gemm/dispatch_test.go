package gemm

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	avail := available()
	best := avail[0]
	tests := []struct {
		name, env string
		avail     []*kernel
		want      *kernel
		wantErr   string
	}{
		{"unset", "", avail, best, ""},
		{"generic", "generic", avail, generic, ""},
		{"best by name", best.name, avail, best, ""},
		{"unknown", "avx1024", avail, best, `ONNXTUNE_GEMM="avx1024": unknown kernel, want avx512, avx2 or generic`},
		{"case", "AVX2", avail, best, "unknown kernel"},
		{"unsupported", "avx512", []*kernel{generic}, generic, "ONNXTUNE_GEMM=avx512: this CPU or OS does not support it (available: generic)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := choose(tt.env, tt.avail)
			if k != tt.want {
				t.Errorf("kernel %s, want %s", k.name, tt.want.name)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestKernelEnv runs this test binary again with ONNXTUNE_GEMM set: the
// products must use the kernel it names, and a bad value must be reported
// by Kernel while the best kernel runs.
func TestKernelEnv(t *testing.T) {
	if name := os.Getenv("GEMM_TEST_CHILD"); name != "" {
		got, err := Kernel()
		if name == "bad" {
			if err == nil || got != available()[0].name {
				t.Fatalf("Kernel() = %s, %v; want %s and an error", got, err, available()[0].name)
			}
			return
		}
		if err != nil || got != name {
			t.Fatalf("Kernel() = %s, %v; want %s", got, err, name)
		}
		return
	}
	for _, name := range append(Kernels(), "bad") {
		env := name
		if name == "bad" {
			env = "sse9"
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestKernelEnv$", "-test.count=1")
		cmd.Env = append(os.Environ(), EnvKernel+"="+env, "GEMM_TEST_CHILD="+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s=%s: %v\n%s", EnvKernel, env, err, out)
		}
	}
}

// TestKernelParameters: every kernel's blocks hold whole tiles and its
// tile fits the scratch tile of edge tiles.
func TestKernelParameters(t *testing.T) {
	for _, k := range available() {
		switch {
		case k.mr*k.nr > maxTile:
			t.Errorf("%s: %dx%d tile is larger than maxTile %d", k.name, k.mr, k.nr, maxTile)
		case k.mcMax%k.mr != 0 || k.ncMax%k.nr != 0:
			t.Errorf("%s: mcMax %d or ncMax %d is not a multiple of the %dx%d tile", k.name, k.mcMax, k.ncMax, k.mr, k.nr)
		case k.kcMax < 1 || k.ncSmall < k.nr:
			t.Errorf("%s: kcMax %d, ncSmall %d", k.name, k.kcMax, k.ncSmall)
		}
	}
	if got := Kernels(); got[len(got)-1] != "generic" {
		t.Errorf("Kernels() = %v, want generic last", got)
	}
}
