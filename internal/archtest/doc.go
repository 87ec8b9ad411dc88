// Package archtest checks the module's architecture from its tests: which of
// its packages may import which (graph imports nothing of the module,
// internal/fsx neither; importer and export never import each other and use
// nothing of the module but graph, internal/fsx and the generated protobuf
// code; only cmd/ uses cobra, reads flags and configures logging; only
// importer and export use the generated protobuf code, besides
// internal/testmodels, which only tests import). It has no code of its own;
// run it with go test.
package archtest
