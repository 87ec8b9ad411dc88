package remap

import (
	"regexp"
	"strings"
)

// stateDictName matches names that look like PyTorch state_dict keys:
// dotted identifiers such as "layer1.0.conv1.weight" or "fc.bias".
var stateDictName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)

// IsStateDictName reports whether an initializer name is already a PyTorch
// name, as opposed to one the exporter made up ("onnx::Conv_193",
// "/conv1/Constant_output_0").
func IsStateDictName(name string) bool { return stateDictName.MatchString(name) }

// ModulePath recovers the PyTorch module path from an exported node name.
// PyTorch 1.13 names nodes after the scope of the module that ran them: each
// "/" segment is a module's name, written from its last non-numeric
// component ("layer1.0", not "0"), and the last segment is the op:
//
//	/layer1/layer1.0/conv1/Conv                       -> layer1.0.conv1
//	/features/features.1/conv/conv.0/conv.0.0/Conv    -> features.1.conv.0.0
//	/encoder/layers.0/linear2/MatMul                  -> encoder.layers.0.linear2
//
// It returns "" when the name carries no module path.
func ModulePath(nodeName string) string {
	if !strings.HasPrefix(nodeName, "/") {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(nodeName, "/"), "/")
	if len(segs) < 2 {
		return ""
	}
	segs = segs[:len(segs)-1] // the op
	full := ""
	prev := ""
	for _, s := range segs {
		if s == "" {
			return ""
		}
		switch {
		case full == "":
			full = s
		case prev != "" && strings.HasPrefix(s, prev+"."):
			// "conv.0" after "conv": a child of a container, its name
			// written together with the container's.
			full += s[len(prev):]
		default:
			full += "." + s
		}
		prev = s
	}
	return full
}

// roleOf infers a parameter's role from the last component of its name.
func roleOf(name string, float bool) string {
	last := name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		last = name[i+1:]
	}
	switch {
	case last == "running_mean":
		return "running_mean"
	case last == "running_var":
		return "running_var"
	case last == "bias" || strings.HasSuffix(last, "_bias"):
		return "bias"
	case !float || last == "num_batches_tracked":
		return "buffer"
	}
	return "weight"
}
