# The database in DATABASE_URL: migrations (the app's venv) and backups (docs/backups.md; other
# deployments are described there). Backups need only standard-library Python and the PostgreSQL
# client tools: no virtualenv.
BACKUP_DIR ?= backups

##@ Database in DATABASE_URL (db-backup and db-restore need the PostgreSQL client tools)
.PHONY: db-migrate db-backup db-restore

db-migrate: venv ## Apply the migrations to DATABASE_URL's database (required unless APP_ENV=development)
	$(PY) -m app.migrate

db-backup: ## pg_dump the DATABASE_URL database into backups/<db>-<UTC time>.dump
	@$(PYTHON) scripts/pgbackup.py backup --dir "$(BACKUP_DIR)"

db-restore: ## pg_restore FILE=backups/<file>.dump into the DATABASE_URL database (asks first; YES=1 does not)
	@if [ -z "$(FILE)" ]; then echo "error: set FILE, e.g. make db-restore FILE=backups/links-<time>.dump" >&2; exit 2; fi
	@$(PYTHON) scripts/pgbackup.py restore "$(FILE)" $(if $(filter 1 yes true,$(YES)),--yes)
