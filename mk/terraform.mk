# Terraform (terraform/) and the deploy CLI (deploy/). Tool venvs live in the cache root, keyed by
# the hash of their requirements file, the same ones the tests create.
TF            ?= terraform
# An offline provider mirror (the folder holding registry.terraform.io/...), e.g. /opt/tf-plugins.
TF_PLUGIN_DIR ?=
TF_INIT_FLAGS := -input=false $(if $(TF_PLUGIN_DIR),-plugin-dir=$(TF_PLUGIN_DIR))
# Validation never writes .terraform/ into the source tree: a throwaway data dir per module.
TF_SCRATCH    := .run/tf-validate
TF_MODULES    := terraform $(wildcard terraform/modules/*)

CHECKOV_REQ   := tools/requirements/checkov.txt
CHECKOV_VENV  := $(call tool_venv,checkov,$(CHECKOV_REQ))
DEPLOY_VENV   := $(call tool_venv,deploy,deploy/requirements.txt)
# ansible-playbook from the Ansible layer's venv (mk/ansible.mk; `make ansible-venv`) when defined.
DEPLOY        := $(if $(ANSIBLE_BIN),ANSIBLE_PLAYBOOK=$(abspath $(ANSIBLE_BIN))/ansible-playbook) \
	$(DEPLOY_VENV)/bin/python -m deploy
# DEPLOY_ARGS: options, given before the command (so one value serves every target), e.g.
# --var-file terraform/prod.tfvars --ssh-key ~/.ssh/flaskmt; `python -m deploy --help` lists them.
DEPLOY_ARGS   ?=

##@ Terraform and the deploy CLI (terraform/, deploy/; up and down touch real AWS)
.PHONY: tf-fmt tf-fmt-check tf-validate tf-checkov tf-check test-terraform \
	deploy-venv deploy-plan deploy-up deploy-inventory deploy-provision deploy-smoke \
	deploy-release deploy-down

tf-fmt: ## terraform fmt, recursively
	$(TF) fmt -recursive terraform

tf-fmt-check: ## terraform fmt -check (what CI runs)
	$(TF) fmt -check -recursive -diff terraform

tf-validate: ## terraform validate for the root module and every module (TF_PLUGIN_DIR for offline)
	@set -e; for dir in $(TF_MODULES); do \
	  data=$(CURDIR)/$(TF_SCRATCH)/$$(echo $$dir | tr / _); \
	  echo "validate $$dir"; \
	  TF_DATA_DIR=$$data $(TF) -chdir=$$dir init -backend=false $(TF_INIT_FLAGS) >/dev/null; \
	  TF_DATA_DIR=$$data $(TF) -chdir=$$dir validate; \
	done

# keyed by the requirements' hash, like the Ansible venv (mk/ansible.mk says why no prerequisite)
$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r $(CHECKOV_REQ)
	touch $@

tf-checkov: $(CHECKOV_VENV)/.installed ## checkov on terraform/ (zero failed checks; skips carry reasons)
	$(CHECKOV_VENV)/bin/checkov -d terraform --framework terraform --skip-download --compact

tf-check: tf-fmt-check tf-validate tf-checkov ## fmt, validate and checkov together

test-terraform: venv ## Terraform + deploy tests (moto on loopback; offline)
	$(PYTEST) tests/infra/terraform tests/infra/deploy --no-cov

$(DEPLOY_VENV)/.installed:
	$(PYTHON) -m venv --clear $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet -r deploy/requirements.txt
	touch $@

deploy-venv: $(DEPLOY_VENV)/.installed ## The deploy CLI's venv (python-terraform, PyYAML, boto3)

deploy-plan: deploy-venv ## terraform init + plan with terraform/terraform.tfvars
	$(DEPLOY) $(DEPLOY_ARGS) plan

deploy-up: deploy-venv ansible-venv ## apply (billable AWS resources), write the inventory, run site.yml, smoke-test
	$(DEPLOY) $(DEPLOY_ARGS) up

deploy-inventory: deploy-venv ## (re)write ansible/inventories/aws/hosts.yml from Terraform outputs
	$(DEPLOY) $(DEPLOY_ARGS) inventory

deploy-provision: deploy-venv ansible-venv ## ansible-playbook site.yml with the AWS inventory
	$(DEPLOY) $(DEPLOY_ARGS) provision

deploy-smoke: deploy-venv ## create and follow a link through the public URL, check /readyz
	$(DEPLOY) $(DEPLOY_ARGS) smoke

deploy-release: deploy-venv ## Auto Scaling tier: publish this checkout, roll it through the group, smoke-test
	$(DEPLOY) $(DEPLOY_ARGS) release

deploy-down: deploy-venv ## terraform destroy (asks first)
	$(DEPLOY) $(DEPLOY_ARGS) down
