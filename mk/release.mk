# Releases (docs/releases.md): the version lives only in app/__init__.py; tags vX.Y.Z make CI
# publish the app image. Nothing here pushes: that stays a deliberate step.
##@ Releases
.PHONY: release version

release: ## Cut a release: make release VERSION=x.y.z (checks, bumps, dates CHANGELOG, commits, tags)
	@bash scripts/release.sh "$(VERSION)"

version: ## Print the current version
	@sed -n 's/^__version__ = "\([^"]*\)".*/\1/p' app/__init__.py
