# Entry points. `make run` runs the whole system here; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install run up test lint bench drill demo clean deploy-files portal

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'

install: $(PY)
	$(PY) -m pip install -q -e '.[dev]'

# RabbitMQ started if needed (with its management API: the platform's vhost and accounts
# are made through it), then every process of the catalogue, supervised (services/run.py).
run: $(PY)
	scripts/ensure-rabbitmq.sh
	scripts/build-portal.sh
	$(PY) -m services.run

up:
	docker compose -f deploy/docker-compose.yml up --build

# Every test (scripts/test.sh): the main suite in two halves, its tests on PostgreSQL and
# the others, and the browser tests (tests/browser, a pytest process of their own without
# eventlet, docs/portal.md), all three at once; the browser tests need the portal built.
test: $(PY)
	scripts/build-portal.sh
	PY=$(PY) scripts/test.sh

lint: $(PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(PY)
	scripts/ensure-rabbitmq.sh
	$(PY) -m bench.gateway_reads
	$(PY) -m bench.signups
	$(PY) -m bench.registrations
	$(PY) -m bench.gifts
	$(PY) -m bench.newsletter
	$(PY) -m bench.relay_publish
	$(PY) -m bench.import_full
	$(PY) -m bench.import_full --postgres $${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
	$(PY) -m bench.search_p95

# Faults played against real processes, with figures (drills/, docs/operations.md).
drill: $(PY)
	scripts/ensure-rabbitmq.sh
	scripts/ensure-postgres.sh
	$(PY) -m drills

# Regenerate the deploy files that list services (compose, database init) from the catalogue.
deploy-files: $(PY)
	$(PY) -m services.deployfiles

# The portal's assets (web/ → web/dist), built when missing or older than their sources.
portal:
	scripts/build-portal.sh

demo: $(PY)
	$(PY) -m services.registry.demo

clean:
	rm -rf var .pytest_cache
