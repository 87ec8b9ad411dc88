#!/usr/bin/env bash
# Runs every check of the repository: setup, gofmt, go vet, staticcheck, go test.
# Exits non-zero if any of them fails (all checks run even if one fails, so
# one run shows every problem). Benchmarks are not run (see `make bench`).
#
# Environment:
#   GO_TEST_FLAGS   extra flags for go test (e.g. "-run TestX -v")
#   GO_TEST_TIMEOUT go test's -timeout (default 20m)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "setup"
setup_out="$(bash scripts/setup.sh)"
ONNXTUNE_ORT_LIB="$(printf '%s\n' "$setup_out" | sed -n 's/^ONNXTUNE_ORT_LIB=//p' | tail -n1)"
[ -n "$ONNXTUNE_ORT_LIB" ] || { echo "scripts/setup.sh did not print ONNXTUNE_ORT_LIB" >&2; exit 1; }
export ONNXTUNE_ORT_LIB
echo "ONNXTUNE_ORT_LIB=$ONNXTUNE_ORT_LIB"
go version

failed=()

step "gofmt -l"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*') 2>&1)"
if [ -n "$unformatted" ]; then
	echo "gofmt wants to change:"
	printf '%s\n' "$unformatted"
	failed+=("gofmt")
fi

step "go vet ./..."
go vet ./... || failed+=("go vet")

step "staticcheck ./..."
go tool staticcheck ./... || failed+=("staticcheck")

step "go test ./..."
# shellcheck disable=SC2086 # GO_TEST_FLAGS is a list of flags
go test -count=1 -timeout "${GO_TEST_TIMEOUT:-20m}" ${GO_TEST_FLAGS:-} ./... || failed+=("go test")

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all checks passed (gofmt, go vet, staticcheck, go test)"
