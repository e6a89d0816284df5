# The local layered stack: nginx in front of N gunicorn instances on loopback (stack/, nginx/).
# DATABASE_URL / REDIS_URL come from the environment (local services when unset).
STACK_INSTANCES ?= 3
STACK_PORT      ?= 8080
STACK_HTTPS_PORT ?= 8443
STACK_ARGS      ?=

##@ Local stack: nginx + N gunicorn instances on loopback (stack/; needs PostgreSQL, Redis, nginx)
.PHONY: stack-up stack-down stack-status stack-rolling-restart bench

stack-up: venv ## Start nginx + N app instances (STACK_INSTANCES=3, STACK_PORT=8080, STACK_TLS=1: HTTPS on STACK_HTTPS_PORT=8443); prints the URL
	$(PY) -m stack up --instances $(STACK_INSTANCES) --port $(STACK_PORT) --https-port $(STACK_HTTPS_PORT) $(STACK_ARGS)

stack-down: venv ## Stop everything `make stack-up` started
	$(PY) -m stack down

stack-status: venv ## Each stack process and its /readyz
	$(PY) -m stack status

stack-rolling-restart: venv ## Restart the stack's app instances one at a time, no failed request
	$(PY) -m stack rolling-restart

bench: venv ## Benchmark the stack with wrk and print the table (docs/benchmarks.md)
	$(PY) -m bench $(BENCH_ARGS)
