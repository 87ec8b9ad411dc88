# Developer entry points; CI runs .ci/run, which runs scripts/test.sh.
.PHONY: test setup bench

# setup: install ONNX Runtime into .cache/ort and fetch Go modules (idempotent).
setup:
	bash scripts/setup.sh

# test: setup, go vet, staticcheck and go test (what CI runs).
test:
	bash scripts/test.sh

# bench: the performance harness (tools/bench, docs/performance.md): onnxtune
# against PyTorch and ONNX Runtime on the same models, a few minutes.
# BENCHFLAGS passes its flags: BENCHFLAGS=--quick, BENCHFLAGS='--only lenet --markdown'.
# The Go benchmarks alone: go test -run '^$' -bench . ./...
BENCHFLAGS ?=
bench: setup
	go run ./tools/bench $(BENCHFLAGS)
