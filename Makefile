# Developer entry points; CI runs .ci/run, which runs scripts/test.sh.
.PHONY: test setup bench

# setup: install ONNX Runtime into .cache/ort and fetch Go modules (idempotent).
setup:
	bash scripts/setup.sh

# test: setup, go vet, staticcheck and go test (what CI runs).
test:
	bash scripts/test.sh

# bench: every benchmark, no tests. BENCH selects benchmarks (a -bench regexp).
BENCH ?= .
bench: setup
	go test -run '^$$' -bench '$(BENCH)' ./...
