# Docker layer (docker/, compose.yaml). With a Docker engine these are plain `docker compose`
# calls; without one, tools/container-engine.sh runs podman behind the Docker API and builds local
# stand-ins for the public base images (its `env` output sets DOCKER_HOST and the *_IMAGE args).
ENGINE      := tools/container-engine.sh
# Every recipe line that talks to the engine starts with this (empty exports with real Docker).
WITH_ENGINE := eval "$$($(ENGINE) env)" &&
COMPOSE     := $(WITH_ENGINE) docker compose
COMPOSE_ARGS ?=

##@ Docker (compose.yaml, docker/; Docker, or podman through tools/container-engine.sh)
.PHONY: docker-engine compose-build compose-up compose-down compose-ps compose-logs \
        compose-rolling-restart docker-lint test-docker

docker-engine: ## Prepare the container engine (podman + stand-in base images when no Docker)
	$(ENGINE) setup
	$(ENGINE) base
	$(ENGINE) standins

compose-build: docker-engine ## Build every image of compose.yaml (extra CAs: docker/certs/*.crt)
	$(COMPOSE) $(COMPOSE_ARGS) build

compose-up: docker-engine ## docker compose up -d --wait (needs .env: cp .env.example .env)
	$(COMPOSE) $(COMPOSE_ARGS) up -d --wait

compose-down: ## Stop and remove the stack, keep the data (compose-down ARGS=-v to delete it)
	$(COMPOSE) $(COMPOSE_ARGS) down $(ARGS)

compose-ps: ## The stack's containers and their health
	$(COMPOSE) $(COMPOSE_ARGS) ps -a

compose-logs: ## Follow the stack's logs
	$(COMPOSE) $(COMPOSE_ARGS) logs -f --tail=50

compose-rolling-restart: ## Restart the app replicas one by one (no failed request)
	$(WITH_ENGINE) docker/rolling-restart.sh $(COMPOSE_ARGS)

docker-lint: venv ## checkov on the Dockerfiles, shellcheck on the scripts
	$(PYTEST) tests/infra/docker/test_docker_lint.py --no-cov

test-docker: venv ## The Docker tier: build, run, scale, restart, tear down (a few minutes)
	$(PYTEST) tests/infra/docker --no-cov
