#!/bin/sh
# Entrypoint hook (run by the nginx image's /docker-entrypoint.sh before nginx starts).
# Why: nginx < 1.27.3 resolves `server app:8000` only at start and reload, so replicas added by
# `docker compose up --scale app=N` (or replaced by a restart, with a new address) would be
# invisible to it. This loop watches the service name and reloads nginx when its addresses
# change. A reload is graceful: old workers finish their requests.
# APP_DNS_NAME (default app) and APP_DNS_POLL_SECONDS (default 2) tune it.
name=${APP_DNS_NAME:-app}
interval=${APP_DNS_POLL_SECONDS:-2}
addresses() { getent ahostsv4 "$name" | awk '{print $1}' | sort -u | tr '\n' ' '; }
(
    last=$(addresses)
    while sleep "$interval"; do
        now=$(addresses)
        # An empty answer is a transient DNS gap, not "no replicas": keep the last good set.
        if [ -n "$now" ] && [ "$now" != "$last" ]; then
            echo "app replicas changed: [$last] -> [$now]; reloading nginx" >&2
            nginx -s reload && last=$now
        fi
    done
) &
