#!/usr/bin/env bash
# Idempotent setup for onnxtune's tests on a fresh machine (Debian 12, Go at
# /usr/local/go, node + npm, gcc).
#
# - installs ONNX Runtime 1.30.0 (the shared library shipped in the npm package
#   onnxruntime-node) into the repo-local folder .cache/ort, only when the
#   library is missing or of another version;
# - downloads the Go modules, including the staticcheck tool pinned in go.mod,
#   so that later steps work from the module cache;
# - fetches the real-world corpus (scripts/fetch-corpus.sh) into .cache/corpus;
# - prints the library's path on its last line ("ONNXTUNE_ORT_LIB=<path>").
#
# Nothing is installed outside the repository except Go's, npm's and pip's caches.
set -euo pipefail

ORT_VERSION=1.30.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

ort_dir="$root/.cache/ort"
ort_pkg="$ort_dir/node_modules/onnxruntime-node"
ort_lib="$ort_pkg/bin/napi-v6/linux/x64/libonnxruntime.so.1"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# .cache/ holds downloaded tools and must never be committed.
if ! grep -qxE '\.cache/?' .gitignore 2>/dev/null; then
	if [ -s .gitignore ] && [ -n "$(tail -c1 .gitignore)" ]; then echo >>.gitignore; fi
	echo '.cache/' >>.gitignore
	log "added .cache/ to .gitignore"
fi

installed_version() {
	[ -f "$ort_pkg/package.json" ] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$ort_pkg/package.json" | head -n1
}

if [ -f "$ort_lib" ] && [ "$(installed_version)" = "$ORT_VERSION" ]; then
	log "ONNX Runtime $ORT_VERSION already installed"
else
	command -v npm >/dev/null || die "npm not found; install node and npm (apt-get install -y nodejs npm)"
	log "installing ONNX Runtime $ORT_VERSION (npm onnxruntime-node) into .cache/ort ..."
	start=$SECONDS
	rm -rf "$ort_dir"
	mkdir -p "$ort_dir"
	# --ignore-scripts: the package's install script tries to download extra
	# binaries from a host that cannot be reached; the CPU library we need is
	# in the package itself.
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
		--prefix "$ort_dir" "onnxruntime-node@$ORT_VERSION" >&2
	[ -f "$ort_lib" ] || die "npm finished but $ort_lib is missing"
	log "installed in $((SECONDS - start))s"
fi

command -v go >/dev/null || die "go not found on PATH (expected /usr/local/go/bin)"
log "downloading Go modules ..."
go mod download
# Build the pinned staticcheck once so later runs work from the build cache.
if grep -q 'honnef.co/go/tools/cmd/staticcheck' go.mod; then
	go build -o /dev/null honnef.co/go/tools/cmd/staticcheck
fi

# The real-world corpus of tools/compat (models/corpus/manifest.tsv) into
# .cache/corpus; its test skips the corpus, saying why, when this fails.
bash "$root/scripts/fetch-corpus.sh" >&2 || log "warning: the corpus was not fetched; tools/compat's test skips it"

echo "ONNXTUNE_ORT_LIB=$ort_lib"
