#!/usr/bin/env bash
# Restart the app replicas one at a time, each only after the previous one is healthy again, so
# the others keep serving (`docker compose restart app` would stop them all at once).
# Usage: docker/rolling-restart.sh [compose options...]   e.g. -p myproject --env-file .env
# Why this is enough for zero failed requests: gunicorn stops accepting on SIGTERM and finishes
# in-flight requests; nginx retries a refused connection on another replica
# (proxy_next_upstream), and reloads itself when the replica's address changes.
set -euo pipefail
wait_s=${ROLLING_RESTART_WAIT:-120}
# After a replica is healthy, let nginx trust it again before the next one goes down: nginx may
# have seen it refuse connections while it booted (marking it failed for fail_timeout=5s, see
# docker/nginx/default.conf), and its DNS watch polls every 2 s. Without this pause both
# replicas can be unavailable to nginx at once, which is a 502.
settle_s=${ROLLING_RESTART_SETTLE:-8}
ids=$(docker compose "$@" ps -q app)
[ -n "$ids" ] || { echo "rolling-restart: no running app container" >&2; exit 1; }
for id in $ids; do
  echo "restarting ${id:0:12}" >&2
  docker restart -t 30 "$id" >/dev/null
  status=unknown
  for _ in $(seq "$wait_s"); do
    status=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
    [ "$status" = healthy ] && break
    sleep 1
  done
  [ "$status" = healthy ] || { echo "rolling-restart: ${id:0:12} is $status after ${wait_s}s" >&2; exit 1; }
  sleep "$settle_s"
done
