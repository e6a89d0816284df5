#!/bin/sh
# WA4 health-ticker (started and stopped by tools/container-engine.sh; see the WA4 note there).
# Podman 4.3 schedules HEALTHCHECKs with transient systemd timers; where PID 1 is not systemd,
# no check ever runs. This loop runs each running container's check every
# HEALTH_TICK seconds instead. Per-container interval/start_period are not honoured; retries are.
while :; do
  for id in $(podman ps -q --filter health=starting) $(podman ps -q --filter health=unhealthy) \
    $(podman ps -q --filter health=healthy); do
    podman healthcheck run "$id" >/dev/null 2>&1 &
  done
  wait
  sleep "${HEALTH_TICK:-2}"
done
