#!/usr/bin/env bash
# make release VERSION=x.y.z: set the version, date the changelog, commit, tag vX.Y.Z.
# Refuses (exit 2, nothing changed) on a dirty tree, a version that is not MAJOR.MINOR.PATCH, a
# version not greater than the current one, an existing tag, or nothing under [Unreleased].
# Pushing is left to you: git push origin HEAD vX.Y.Z (CI then publishes the image).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION_FILE=app/__init__.py
CHANGELOG=CHANGELOG.md
version=${1:-}

refuse() { echo "release: $*" >&2; exit 2; }

[ -n "$version" ] || refuse "set VERSION, e.g. make release VERSION=0.2.0"
# Plain MAJOR.MINOR.PATCH, no leading zeros (semver 2.0.0 without pre-release or build parts).
[[ "$version" =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] ||
    refuse "VERSION=$version is not a semantic version MAJOR.MINOR.PATCH (e.g. 1.4.0)"

[ -z "$(git status --porcelain)" ] ||
    refuse "the working tree has uncommitted changes; commit or stash them first:
$(git status --short)"

current=$(sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' "$VERSION_FILE")
[ -n "$current" ] || refuse "no __version__ = \"...\" line in $VERSION_FILE"
highest=$(printf '%s\n%s\n' "$current" "$version" | sort -V | tail -n 1)
[ "$version" != "$current" ] && [ "$highest" = "$version" ] ||
    refuse "VERSION=$version is not greater than the current version $current"

! git rev-parse -q --verify "refs/tags/v$version" >/dev/null ||
    refuse "tag v$version already exists"

# Keep a Changelog: what the release contains is written under [Unreleased] beforehand.
notes=$(awk '/^## \[Unreleased\]/ {on=1; next} /^## \[/ {on=0} on && NF' "$CHANGELOG")
[ -n "$notes" ] || refuse "nothing under ## [Unreleased] in $CHANGELOG: describe the changes first"

today=$(date -u +%Y-%m-%d)
sed -i "s/^__version__ = \"$current\"/__version__ = \"$version\"/" "$VERSION_FILE"
sed -i "s/^## \[Unreleased\]\$/## [Unreleased]\n\n## [$version] - $today/" "$CHANGELOG"
# Comparison links at the bottom, when the changelog has them.
sed -i "s#^\[Unreleased\]: \(.*\)/compare/v$current\.\.\.HEAD\$#[Unreleased]: \1/compare/v$version...HEAD\n[$version]: \1/compare/v$current...v$version#" "$CHANGELOG"

git add "$VERSION_FILE" "$CHANGELOG"
git commit --quiet -m "Release $version"
git tag --annotate "v$version" -m "Release $version"
echo "Released $version (was $current): commit $(git rev-parse --short HEAD), tag v$version."
echo "Nothing was pushed. Publish with: git push origin HEAD v$version"
