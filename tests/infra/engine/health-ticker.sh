#!/bin/sh
# WA4 health-ticker (started and stopped by tests/infra/engine.sh; see the WA4 note there).
# Podman 4.3 schedules HEALTHCHECKs with transient systemd timers; PID 1 on this host is not
# systemd, so no check ever runs. This loop runs each running container's check every
# HEALTH_TICK seconds instead. Per-container interval/start_period are not honoured; retries are.
while :; do
  for id in $(podman ps -q --filter health=starting) $(podman ps -q --filter health=unhealthy) \
    $(podman ps -q --filter health=healthy); do
    podman healthcheck run "$id" >/dev/null 2>&1 &
  done
  wait
  sleep "${HEALTH_TICK:-2}"
done
