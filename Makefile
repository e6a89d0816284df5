# One task runner for developers and CI: `.ci/run` calls `make test`, exactly as a developer does.
# Each layer's own targets live in mk/<layer>.mk so the layers stay independent.
# Target names are <layer>-<verb> (stack-up, compose-build, db-backup); test-<tier> and the
# project's own verbs (run, lint, release, ...) stand alone, as do targets named after what they
# make (venv, ansible-venv, docker-engine, vagrant-box).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTEST  := $(PY) -m pytest
STAMP   := $(VENV)/.installed-stamp

# One cache root for everything kept between runs: tool venvs, the Vagrant box and home, the
# container engine's scratch, the test hosts' SSH key. Exported so the tests use the same one.
CACHE_DIR ?= $(or $(FLASK_MT_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/flask-multitier)
export FLASK_MT_CACHE := $(CACHE_DIR)
# $(call tool_venv,NAME,REQUIREMENTS): the venv of a tool, keyed by its requirements' hash
# (tests/support/venvs.py computes the same path, so tests and targets share each venv).
tool_venv = $(CACHE_DIR)/venvs/$(1)-$(shell sha256sum $(2) | cut -c1-10)

##@ The app, on this machine (make run needs nothing else installed)
.PHONY: help venv run test test-app test-fast test-unit test-integration test-system test-infra lint format clean clean-cache

# `make help` prints every target with a `## text`, under the `##@ Layer` heading above it.
help: ## List the targets, by layer
	@awk '/^##@ / { printf "\n%s\n", substr($$0, 5); next } \
	     /^[a-zA-Z_-]+:.*## / { split($$0, part, ":.*## "); printf "  %-24s %s\n", part[1], part[2] }' \
	     $(MAKEFILE_LIST)

# The virtualenv is rebuilt whenever a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP) ## Create .venv with the pinned dependencies

run: venv ## Serve the app on http://127.0.0.1:5000 (no services needed)
	$(PY) run.py

##@ Tests (make test: every tier, ~35 min on 2 cores, installs Debian packages as root)
# Independent test groups run side by side in lanes (tests/support/lanes.py): most infra tests
# wait on hosts, VMs and downloads, so more lanes than cores pay off. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 4
LANES := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadgroup)

test: venv ## Every test tier this machine can run (CI=true: a missing service or tool fails)
	$(PYTEST) $(LANES)

# `make test` = test-app + test-infra: the split lets a CI run the first on any hosted runner
# and the second where containers and a VM can run.
test-app: venv ## Unit, integration and system tiers, with the coverage gate (no containers or VMs)
	$(PYTEST) $(LANES) -m "unit or integration or system"

test-fast: venv ## Unit and integration tiers only (the quick loop)
	$(PYTEST) -n 2 --dist loadgroup -m "unit or integration" --no-cov

test-unit: venv ## Tests that need no service
	$(PYTEST) -m unit --no-cov

test-integration: venv ## Tests against real PostgreSQL and Redis
	$(PYTEST) -m integration --no-cov

test-system: venv ## System tests: real nginx in front of several real gunicorn processes
	$(PYTEST) -m system --no-cov

test-infra: venv ## Ansible, Terraform, containers and Vagrant, run for real
	$(PYTEST) $(LANES) -m infra --no-cov

##@ Code style and housekeeping
lint: venv ## ruff lint and format check, mypy (strict, files listed in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove the virtualenv, caches and local data
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage htmlcov instance/*.sqlite3

clean-cache: ## Remove what is kept between runs (~/.cache/flask-multitier), the engine's images, the Vagrant box
	rm -rf "$(CACHE_DIR)"
	-command -v podman >/dev/null && podman images --format '{{.Repository}}:{{.Tag}}' \
	  | grep -E '^localhost/debian:bookworm-slim|(^|/)flask-multitier' \
	  | xargs -r podman rmi -f
	-command -v virsh >/dev/null && virsh -c qemu:///system vol-list default 2>/dev/null \
	  | awk '/_vagrant_box_image_/{print $$1}' | xargs -r -n1 virsh -c qemu:///system vol-delete --pool default

# Each layer's targets, in the order of the workflow (docs/tutorial.md). ansible.mk comes before
# vagrant.mk and terraform.mk: they use its ANSIBLE_BIN. old-names.mk comes last, so that its
# section ends `make help`.
include mk/stack.mk mk/ansible.mk mk/vagrant.mk mk/terraform.mk mk/docker.mk mk/db.mk \
	mk/release.mk mk/old-names.mk
