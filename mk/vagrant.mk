# The Vagrant dev VM (Vagrantfile, vagrant/). Settings: vagrant/settings.yml or FLASK_MT_* vars.
# `vagrant up` needs ansible-playbook on PATH: these targets put the project's pinned one there.
VAGRANT_BOX_FILE ?= $(CACHE_DIR)/vagrant/debian12-bookworm-local.box
VAGRANT_RUN := PATH=$(abspath $(ANSIBLE_BIN)):$$PATH

##@ Vagrant dev VM (Vagrantfile, vagrant/; needs Vagrant + libvirt or VirtualBox)
.PHONY: vagrant-up vagrant-provision vagrant-destroy vagrant-validate vagrant-box libvirt-start libvirt-stop test-vagrant

vagrant-up: ansible-venv ## vagrant up (FLASK_MT_TOPOLOGY=layered for five VMs)
	$(VAGRANT_RUN) vagrant up

vagrant-provision: ansible-venv ## Re-run ansible/site.yml on the running VM(s)
	$(VAGRANT_RUN) vagrant provision

vagrant-destroy: ## Remove the VM(s)
	vagrant destroy -f

vagrant-validate: ## vagrant validate, both topologies
	FLASK_MT_TOPOLOGY=single vagrant validate
	FLASK_MT_TOPOLOGY=layered vagrant validate

vagrant-box: ## Build a Debian 12 libvirt box locally (no box catalogue needed) and register it
	vagrant/box/build-box.sh $(VAGRANT_BOX_FILE)
	vagrant box add --force --name $$(awk '/^box:/{print $$2}' vagrant/settings.yml) --provider libvirt $(VAGRANT_BOX_FILE)

libvirt-start: ## Start libvirtd by hand on hosts without systemd (containers, CI)
	tools/libvirt-daemons.sh start

libvirt-stop: ## Stop what libvirt-start started
	tools/libvirt-daemons.sh stop

test-vagrant: venv ## Vagrant tests: validate (both shapes, both providers) and a real vagrant up
	$(PYTEST) tests/infra/vagrant --no-cov
