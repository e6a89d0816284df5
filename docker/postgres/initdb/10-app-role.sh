#!/bin/bash
# First start only (empty data volume): the app gets its own login role that owns the app
# database, so it can run migrations (CREATE) without being a superuser.
# APP_DB_USER / APP_DB_PASSWORD come from .env through compose.yaml.
set -euo pipefail
: "${APP_DB_USER:?APP_DB_USER is required}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD is required}"
# psql variables (:"name" quoted identifier, :'name' quoted literal) keep the values out of
# the SQL text, so no password character can break or inject the statement.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" --no-psqlrc \
    -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" -v app_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
ALTER DATABASE :"app_db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
SQL
