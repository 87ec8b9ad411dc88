package graph

// paramslots_gen.go is written from the Params of the op descriptors in
// graph/ops.
//go:generate go run ../tools/genslots -o paramslots_gen.go
