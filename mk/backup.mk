# Backups of the database in DATABASE_URL (docs/backups.md; other deployments are described there).
# Standard-library Python and the PostgreSQL client tools only: no virtualenv needed.
BACKUP_DIR ?= backups

##@ Backups of DATABASE_URL's database (needs the PostgreSQL client tools)
.PHONY: backup restore

backup: ## pg_dump the DATABASE_URL database into backups/<db>-<UTC time>.dump
	@$(PYTHON) scripts/pgbackup.py backup --dir "$(BACKUP_DIR)"

restore: ## pg_restore FILE=backups/<file>.dump into the DATABASE_URL database (asks first; YES=1 does not)
	@if [ -z "$(FILE)" ]; then echo "error: set FILE, e.g. make restore FILE=backups/links-<time>.dump" >&2; exit 2; fi
	@$(PYTHON) scripts/pgbackup.py restore "$(FILE)" $(if $(filter 1 yes true,$(YES)),--yes)
