package importer

import (
	"errors"
	"fmt"
)

// maxDepth bounds how deeply messages may nest (graphs inside attributes,
// types inside types). Real models stay far below it; a hostile file could
// otherwise exhaust the stack of the recursive decoder.
const maxDepth = 100

// msgKind names the message types whose nesting the pre-scan follows.
type msgKind int

const (
	kLeaf msgKind = iota
	kModel
	kGraph
	kNode
	kAttr
	kValueInfo
	kType
	kTypeTensor // TypeProto.Tensor and TypeProto.SparseTensor
	kTypeElem   // TypeProto.Sequence and TypeProto.Optional
	kTypeMap
	kShape
	kTensor
	kSparse
	kTraining
	kFunction
)

// children gives, per message kind, the field numbers that hold messages the
// scan descends into. Other length-delimited fields are skipped.
var children = map[msgKind]map[uint64]msgKind{
	kModel:      {7: kGraph, 20: kTraining, 25: kFunction},
	kGraph:      {1: kNode, 5: kTensor, 15: kSparse, 11: kValueInfo, 12: kValueInfo, 13: kValueInfo},
	kNode:       {5: kAttr},
	kAttr:       {5: kTensor, 6: kGraph, 22: kSparse, 14: kType, 10: kTensor, 11: kGraph, 23: kSparse, 15: kType},
	kValueInfo:  {2: kType},
	kType:       {1: kTypeTensor, 8: kTypeTensor, 4: kTypeElem, 9: kTypeElem, 5: kTypeMap},
	kTypeTensor: {2: kShape},
	kTypeElem:   {1: kType},
	kTypeMap:    {2: kType},
	kTensor:     {},
	kSparse:     {1: kTensor, 2: kTensor},
	kTraining:   {1: kGraph, 2: kGraph},
	kFunction:   {7: kNode, 11: kAttr, 12: kValueInfo},
	kShape:      {},
}

// ErrFormat reports bytes that are not a well-formed ONNX protobuf.
var ErrFormat = errors.New("not a valid ONNX protobuf")

// scan checks the wire format of b as a message of kind k: every field is
// complete and nesting stays within maxDepth.
func scan(b []byte, k msgKind, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: messages nest deeper than %d levels", ErrFormat, maxDepth)
	}
	kids := children[k]
	for i := 0; i < len(b); {
		key, n := uvarint(b[i:])
		if n <= 0 {
			return fmt.Errorf("%w: truncated field tag at byte %d", ErrFormat, i)
		}
		i += n
		field, wt := key>>3, key&7
		if field == 0 {
			return fmt.Errorf("%w: field number 0 at byte %d", ErrFormat, i-n)
		}
		switch wt {
		case 0:
			_, n := uvarint(b[i:])
			if n <= 0 {
				return fmt.Errorf("%w: truncated varint at byte %d", ErrFormat, i)
			}
			i += n
		case 1:
			if len(b)-i < 8 {
				return fmt.Errorf("%w: truncated fixed64 at byte %d", ErrFormat, i)
			}
			i += 8
		case 5:
			if len(b)-i < 4 {
				return fmt.Errorf("%w: truncated fixed32 at byte %d", ErrFormat, i)
			}
			i += 4
		case 2:
			l, n := uvarint(b[i:])
			if n <= 0 {
				return fmt.Errorf("%w: truncated length at byte %d", ErrFormat, i)
			}
			i += n
			if l > uint64(len(b)-i) {
				return fmt.Errorf("%w: field %d needs %d bytes, %d left (truncated file?)", ErrFormat, field, l, len(b)-i)
			}
			if ck, ok := kids[field]; ok {
				if err := scan(b[i:i+int(l)], ck, depth+1); err != nil {
					return err
				}
			}
			i += int(l)
		default:
			return fmt.Errorf("%w: wire type %d at byte %d", ErrFormat, wt, i-n)
		}
	}
	return nil
}

// uvarint decodes a varint; n <= 0 means truncated or overlong.
func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}
