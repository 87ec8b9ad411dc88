package ops

import (
	"strconv"
	"strings"

	"github.com/onnxtune/onnxtune/graph"
)

// What a Gather's gradient must know of the nn.Embedding it stands for and
// the ONNX node does not say. PyTorch's F.embedding(weight, ids,
// padding_idx) reads the padding row like any other in the forward, but its
// backward (aten.embedding_dense_backward) adds nothing into that row: the
// weight's gradient there is zero, so the row keeps its value (AdamW's
// decoupled weight decay aside, which applies to every row). With
// scale_grad_by_freq, each row's gradient is divided by the number of times
// its index occurs in the batch. ONNX's Gather has no such attribute, so a
// file can only record it elsewhere: PyTorch's dynamo exporter writes each
// node's FX call in the node's metadata (pkg.torch.onnx.fx_node),
//
//	%embedding : [num_users=1] = call_function[target=torch.ops.aten.embedding.default](args = (%p_word_embeddings_weight, %input_ids, 1), kwargs = {})
//
// whose third and fourth arguments are padding_idx (-1: none) and
// scale_grad_by_freq. The TorchScript exporter records neither: a
// TorchScript export of a model with padding_idx trains the padding row as
// the Gather says (its gradient is the sum of the rows' output gradients),
// where PyTorch leaves it; the file is not changed either way.

// embeddingHint is what a Gather's FX record says about its gradient.
type embeddingHint struct {
	padding     int  // row index whose gradient is zero; -1 for none
	scaleByFreq bool // divide each row's gradient by its index's count
}

// noEmbeddingHint is a plain Gather's gradient.
var noEmbeddingHint = embeddingHint{padding: -1}

// embeddingHintOf reads node n's FX record when it is a call of
// aten.embedding: padding_idx and scale_grad_by_freq from its arguments
// (positional, or by keyword). Anything else, or a record it cannot read,
// is a plain Gather.
func embeddingHintOf(n *graph.Node) embeddingHint {
	h := noEmbeddingHint
	if n == nil {
		return h
	}
	for _, p := range n.Metadata {
		if p.Key != "pkg.torch.onnx.fx_node" {
			continue
		}
		_, rest, ok := strings.Cut(p.Value, "target=torch.ops.aten.embedding.")
		if !ok {
			return h
		}
		_, rest, ok = strings.Cut(rest, "](args = (")
		if !ok {
			return h
		}
		args, rest, ok := strings.Cut(rest, "), kwargs = {")
		if !ok {
			return h
		}
		kwargs, _, _ := strings.Cut(rest, "}")
		pos := strings.Split(args, ", ")
		if len(pos) > 2 {
			if v, err := strconv.Atoi(strings.TrimSpace(pos[2])); err == nil {
				h.padding = v
			}
		}
		if len(pos) > 3 {
			h.scaleByFreq = strings.TrimSpace(pos[3]) == "True"
		}
		for _, kv := range strings.Split(kwargs, ", ") {
			k, v, _ := strings.Cut(kv, ": ")
			switch strings.TrimSpace(k) {
			case "padding_idx":
				if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					h.padding = i
				}
			case "scale_grad_by_freq":
				h.scaleByFreq = strings.TrimSpace(v) == "True"
			}
		}
		if h.padding < 0 {
			h.padding = -1 // F.embedding passes -1 for none (a negative padding_idx is made positive before)
		}
		return h
	}
	return h
}
