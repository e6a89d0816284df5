# Ansible (ansible/): its own virtualenv, pinned in ansible/requirements.txt and kept in the cache
# root (keyed by the requirements' hash, shared with the tests), lint, and playbook runs.
ANSIBLE_VENV  ?= $(call tool_venv,ansible,ansible/requirements.txt)
ANSIBLE_BIN   := $(ANSIBLE_VENV)/bin
# INVENTORY: a path from the repository root (ansible/inventories/vagrant-single,
# .../vagrant-layered, .../aws) or an absolute one. The recipes run in ansible/, so they get it
# made absolute.
INVENTORY     ?= ansible/inventories/vagrant-single
INVENTORY_ABS  = $(abspath $(INVENTORY))
ANSIBLE_ARGS  ?=
ANSIBLE_RUN   := cd ansible && ANSIBLE_CONFIG=ansible.cfg PATH=$(abspath $(ANSIBLE_BIN)):$$PATH

##@ Ansible (ansible/): provision and roll out any inventory
.PHONY: ansible-venv ansible-lint ansible-syntax ansible-provision ansible-release test-ansible

# No prerequisite on the requirements file: the venv's path is keyed by its content, so a new
# pin makes a new venv, while a newer mtime of the same content (a fresh checkout) must not
# rebuild, with --clear, a venv that other checkouts and test runs are using.
$(ANSIBLE_VENV)/.installed:
	$(PYTHON) -m venv --clear $(ANSIBLE_VENV)
	$(ANSIBLE_BIN)/pip install --quiet -r ansible/requirements.txt
	touch $@

ansible-venv: $(ANSIBLE_VENV)/.installed ## Ansible + ansible-lint in their own venv (prints PATH to use)
	@echo "export PATH=$(ANSIBLE_BIN):\$$PATH"

ansible-lint: ansible-venv ## ansible-lint, production profile
	$(ANSIBLE_RUN) ansible-lint

ansible-syntax: ansible-venv ## --syntax-check of site.yml and release.yml
	$(ANSIBLE_RUN) ansible-playbook --syntax-check -i $(INVENTORY_ABS) site.yml release.yml

ansible-provision: ansible-venv ## site.yml against INVENTORY (ANSIBLE_ARGS="--vault-password-file ...")
	$(ANSIBLE_RUN) ansible-playbook -i $(INVENTORY_ABS) site.yml $(ANSIBLE_ARGS)

ansible-release: ansible-venv ## Rolling release (release.yml) of the working tree to INVENTORY
	$(ANSIBLE_RUN) ansible-playbook -i $(INVENTORY_ABS) release.yml $(ANSIBLE_ARGS)

test-ansible: venv ## Ansible tests: lint, syntax, all-in-one + layered hosts, rolling release
	$(PYTEST) tests/infra/ansible --no-cov
