#!/usr/bin/env bash
# Regenerates onnx.pb.go from onnx.proto with gogo/protobuf's gogofast
# generator (fast marshal/unmarshal code that keeps unknown fields).
# Needs protoc (Debian: apt-get install -y protobuf-compiler).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/protoc-gen-gogofast" github.com/gogo/protobuf/protoc-gen-gogofast
protoc --plugin=protoc-gen-gogofast="$tmp/protoc-gen-gogofast" \
  --gogofast_out=paths=source_relative:. -I . onnx.proto
