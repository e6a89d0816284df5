#!/usr/bin/env bash
# Build a release archive of the working tree on the controller (run by the app role).
# Usage: make-release-archive.sh SOURCE_DIR CACHE_DIR PATH...
# Prints "<release-id> created|unchanged". The id is a hash of the archive's content, so the same
# tree always gives the same id (re-runs change nothing) and any edit, committed or not, a new one.
set -euo pipefail
src=$1 cache=$2; shift 2
cd "$src"
list=$(mktemp); tarball=$(mktemp)
trap 'rm -f "$list" "$tarball"' EXIT
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # tracked and untracked-but-not-ignored files: what a commit of the tree would hold
  git ls-files -z --cached --others --exclude-standard -- "$@" \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | sort -zu >"$list"
else
  find "$@" \( -name __pycache__ -prune \) -o \( -type f -print0 \) | sort -z >"$list"
fi
[ -s "$list" ] || { echo "no files under $* in $src" >&2; exit 1; }
# deterministic: fixed order, owner and time, so the hash depends on content only
tar --null -T "$list" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  --mode=u+rw,go+r,go-w -cf "$tarball"
id=$(sha256sum "$tarball" | cut -c1-12)
# The archives become the hosts' code: the cache must be this user's alone (a folder someone else
# created, e.g. in a shared /tmp, could hand the hosts a planted archive).
mkdir -p -m 0700 "$cache"
if [ ! -O "$cache" ]; then
  echo "release cache $cache belongs to another user: refusing to use it" >&2; exit 1
fi
chmod 0700 "$cache"
if [ -f "$cache/$id.tar.gz" ]; then echo "$id unchanged"; exit 0; fi
gzip -n -c "$tarball" >"$cache/$id.tar.gz.tmp"
mv "$cache/$id.tar.gz.tmp" "$cache/$id.tar.gz"
echo "$id created"
