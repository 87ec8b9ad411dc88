# Developer entry points; CI runs .ci/run, which runs scripts/test.sh.
.PHONY: test setup bench

# setup: install ONNX Runtime into .cache/ort and fetch Go modules (idempotent).
setup:
	bash scripts/setup.sh

# test: setup, go vet, staticcheck and go test (what CI runs).
test:
	bash scripts/test.sh

# bench: the performance harness (tools/bench, docs/performance.md): onnxtune
# against today's PyTorch and ONNX Runtime (the repository's .venv, made by
# scripts/reference-tools.sh once) on the same models, 15 minutes or so.
# BENCHFLAGS passes its flags: BENCHFLAGS=--quick, BENCHFLAGS='--only lenet --markdown'.
# The Go benchmarks alone: go test -run '^$' -bench . ./...
BENCHFLAGS ?=
bench:
	@test -x .venv/bin/python || { echo "make bench: no .venv/bin/python; run: bash scripts/reference-tools.sh"; exit 2; }
	@go run ./tools/bench $(BENCHFLAGS)
