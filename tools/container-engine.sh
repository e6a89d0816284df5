#!/usr/bin/env bash
# tools/container-engine.sh - `docker compose` on a machine that has no Docker engine.
#
# When a real Docker engine answers (`docker info` works), every subcommand except `mode` does
# nothing: compose simply uses Docker. Otherwise it runs rootful podman (Debian 12's 4.3) behind
# the Docker API, applies the host workarounds below, and builds local stand-ins for the public
# base images compose.yaml names, for machines that reach no container registry.
# `make compose-build` / `make compose-up` and the Docker tests call it; docs/docker.md explains it.
#
# Subcommands:
#   mode        print "docker" (a real engine answers) or "podman" (this tool)
#   setup       idempotent host prep: apt packages, WA1-WA3 below, podman API socket, compose v2
#               plugin, health ticker (WA4). Safe to run concurrently.
#   base        localhost/debian:bookworm-slim from debootstrap (kept once built; FORCE_BASE=1
#               rebuilds). Needs `setup` first.
#   standins    local stand-ins for the public base images compose.yaml defaults to: postgres,
#               redis, nginx built FROM the debootstrap base (itself a stand-in for
#               debian:bookworm-slim), and distroless python3-debian12 unpacked from the same
#               Debian 12 packages distroless is made of. FORCE_STANDINS=1 rebuilds the latter.
#   env         print `export ...` lines: DOCKER_HOST, DOCKER_BUILDKIT=0, BUILDAH_FORMAT=docker and
#               the *_IMAGE build args naming the stand-ins (nothing when a real Docker answers).
#   teardown    stop the background helpers `setup` started (API service, ticker). Images and
#               containers are left alone.
#   status      show what is running.
#
# Typical use:  tools/container-engine.sh setup && tools/container-engine.sh base \
#               && eval "$(tools/container-engine.sh env)" && docker compose ...
#
# Host workarounds, each for a condition `setup` finds on the host:
#   WA1 cgroup-hybrid   a cgroup v1/v2 hybrid layout where cgroup2 still owns a controller (e.g.
#                       hugetlb not mounted as v1): crun refuses such a host, so each such
#                       controller is bound to its own v1 mount.
#   WA2 ulimits         root without CAP_SYS_RESOURCE cannot raise rlimits to podman's defaults:
#                       containers.conf default_ulimits at (or below) the host's hard limits.
#   WA3 docker-format   BUILDAH_FORMAT=docker: the OCI image format drops HEALTHCHECK.
#   WA4 health-ticker   podman schedules healthchecks with systemd timers; when PID 1 is not
#                       systemd no check ever runs and compose's service_healthy hangs: a loop
#                       runs `podman healthcheck run` every 2 s.
#   WA5 no-buildkit     DOCKER_BUILDKIT=0: compose v2 otherwise boots a buildkit container from
#                       docker.io; podman's classic /build endpoint needs no registry.
#   WA6 compose-plugin  Debian 12 ships no compose v2: the Go plugin from trixie's docker-compose
#                       .deb (depends only on libc6 >= 2.34), fetched with a private apt config.
#   WA7 netavark        podman picks its network backend on first use and keeps it: a podman run
#                       before netavark was installed chose CNI, whose networks resolve no names
#                       when `internal: true`. containers.conf names netavark explicitly, and a
#                       bridge CNI left behind (same subnet as netavark's) is removed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENGINE_DIR="$HERE/container-engine"
STATE=/run/flask-multitier-engine           # pid files and the lock (tmpfs: gone after a reboot)
# trixie apt lists, debootstrap scratch: under the project's one cache root (`make clean-cache`)
CACHE_ROOT="${FLASK_MT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flask-multitier}"
CACHE="$CACHE_ROOT/container-engine"
SOCK=/run/podman/podman.sock
BASE_IMAGE=localhost/debian:bookworm-slim
STANDIN_PREFIX=localhost/flask-multitier-standin
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
APT_PACKAGES=(podman buildah debootstrap crun netavark aardvark-dns slirp4netns uidmap iptables
  fuse-overlayfs catatonit curl openssh-client)

log() { printf '[engine %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A real Docker engine answers without our socket: then this harness stays out of the way.
real_docker() {
  [ "${DOCKER_HOST:-}" = "unix://$SOCK" ] && return 1
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

mode() { if real_docker; then echo docker; else echo podman; fi; }

with_lock() {  # serialise host changes between concurrent callers (e.g. parallel test workers)
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 600 9 || die "timed out waiting for $STATE/lock"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The daemons below start from / : one whose working directory was removed cannot start a
# container (conmon, run for each one, stops with "Failed to get working directory"). One that
# holds a removed folder (started elsewhere by an earlier version of this script) is replaced.
serving() { alive "$1" && [[ $(readlink "/proc/$(cat "$1")/cwd") != *" (deleted)" ]]; }

start_daemon() {  # PIDFILE LOGFILE COMMAND...: detached, from /, replacing one not serving
  local pidfile=$1 logfile=$2
  shift 2
  stop_pidfile "$pidfile"
  (cd / && exec setsid "$@" >"$logfile" 2>&1 </dev/null 9>&-) &
  echo $! >"$pidfile"
}

mirror() {  # the Debian mirror the host already uses
  local m
  m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  echo "${m:-http://deb.debian.org/debian}"
}

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt: installing ${missing[*]}"
  # One apt run of the project's at a time (the tests' installs take the same lock), and another
  # apt run (unattended upgrades) may still hold dpkg's lock, or the lists' lock, for which
  # `apt-get update` does not wait: DPkg::Lock::Timeout covers dpkg's only.
  mkdir -p "$CACHE_ROOT"
  (
    flock -w 1200 8 || die "timed out waiting for $CACHE_ROOT/apt.lock"
    local apt=(apt-get -o DPkg::Lock::Timeout=600) tries=0
    until "${apt[@]}" update -qq; do
      (( ++tries < 30 )) || die "apt-get update failed $tries times"
      log "apt-get update failed (another apt run holding its lock?): again in 10 s"
      sleep 10
    done
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 8>"$CACHE_ROOT/apt.lock"
}

wa1_cgroup_hybrid() {
  [ -r /sys/fs/cgroup/unified/cgroup.controllers ] || return 0
  local c ctrls
  # the file is one line of space-separated controller names
  read -r -a ctrls </sys/fs/cgroup/unified/cgroup.controllers || true
  for c in "${ctrls[@]}"; do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"
    log "WA1 cgroup-hybrid: controller $c moved to /sys/fs/cgroup/$c"
  done
}

wa2_ulimits() {
  local conf=/etc/containers/containers.conf nofile nproc
  if [ -f "$conf" ] && grep -q '^[[:space:]]*default_ulimits' "$conf"; then return; fi
  if [ -f "$conf" ] && grep -q '^\[containers\]' "$conf"; then
    die "WA2: $conf has a [containers] table without default_ulimits; add: default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]"
  fi
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  # the OCI runtime inherits podman's own nproc limit (at most 32768), not the shell's
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  mkdir -p /etc/containers
  cat >>"$conf" <<EOF
# WA2 ulimits (tools/container-engine.sh): root lacks CAP_SYS_RESOURCE, so container rlimits
# must stay within the host's hard limits; a --ulimit flag replaces this whole list.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
EOF
  log "WA2 ulimits: wrote default_ulimits to $conf"
}

wa7_netavark() {
  local conf=/etc/containers/containers.conf link
  if [ -f "$conf" ] && grep -q '^[[:space:]]*network_backend' "$conf"; then
    grep -q '^[[:space:]]*network_backend[[:space:]]*=[[:space:]]*"netavark"' "$conf" || return 0
  elif [ -f "$conf" ] && grep -q '^\[network\]' "$conf"; then
    die "WA7: $conf has a [network] table without network_backend; add: network_backend = \"netavark\""
  else
    mkdir -p /etc/containers
    cat >>"$conf" <<EOF
# WA7 (tools/container-engine.sh): netavark whatever podman's first run found installed.
[network]
network_backend = "netavark"
EOF
    log "WA7 netavark: wrote network_backend to $conf"
  fi
  # A bridge CNI left behind keeps its subnet (the default network's is netavark's too,
  # 10.88.0.0/16): the kernel would route the containers' replies to the dead bridge.
  for link in $(ip -br link show type bridge 2>/dev/null | awk '$1 ~ /^cni-podman/ {print $1}'); do
    ip link delete "$link" && log "WA7 netavark: removed the CNI bridge $link left behind"
  done
}

start_api() {
  serving "$STATE/podman-api.pid" && [ -S "$SOCK" ] && return
  mkdir -p "$(dirname "$SOCK")"
  rm -f "$SOCK"
  # WA3: the API service does the builds, so BUILDAH_FORMAT must be in ITS environment.
  start_daemon "$STATE/podman-api.pid" "$STATE/podman-api.log" \
    env BUILDAH_FORMAT=docker podman system service --time=0 "unix://$SOCK"
  local _
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
  [ -S "$SOCK" ] || die "podman API socket $SOCK did not appear (see $STATE/podman-api.log)"
  log "podman API on unix://$SOCK (pid $(cat "$STATE/podman-api.pid"))"
}

wa4_health_ticker() {
  serving "$STATE/health-ticker.pid" && return
  start_daemon "$STATE/health-ticker.pid" "$STATE/health-ticker.log" "$ENGINE_DIR/health-ticker.sh"
  log "WA4 health-ticker started (pid $(cat "$STATE/health-ticker.pid"))"
}

# apt-get with its own sources.list, lists and cache under $1: the host's apt state is untouched.
private_apt() {
  local A=$1; shift
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  apt-get -o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
    -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o Dir::State::status=/dev/null \
    -o APT::Sandbox::User=root "$@"
}

wa6_compose_plugin() {
  if [ -x "$COMPOSE_PLUGIN" ] && docker compose version >/dev/null 2>&1; then return; fi
  local A="$CACHE/trixie-apt"
  mkdir -p "$A"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror) trixie main" \
    >"$A/sources.list"
  log "WA6 compose-plugin: fetching trixie's docker-compose .deb"
  private_apt "$A" update -qq
  rm -f "$A"/docker-compose_*.deb
  (cd "$A" && private_apt "$A" download -qq docker-compose)
  mkdir -p "$(dirname "$COMPOSE_PLUGIN")"
  dpkg-deb --fsys-tarfile "$A"/docker-compose_*_amd64.deb \
    | tar -xO ./usr/libexec/docker/cli-plugins/docker-compose >"$COMPOSE_PLUGIN.tmp"
  chmod +x "$COMPOSE_PLUGIN.tmp"
  mv "$COMPOSE_PLUGIN.tmp" "$COMPOSE_PLUGIN"
  docker compose version >&2
}

setup() {
  if real_docker; then log "a real Docker engine answers: nothing to set up"; return; fi
  with_lock
  install_packages
  wa1_cgroup_hybrid
  wa2_ulimits
  wa7_netavark
  start_api
  wa4_health_ticker
  DOCKER_HOST="unix://$SOCK" wa6_compose_plugin
  DOCKER_HOST="unix://$SOCK" timeout 30 docker version --format 'engine: {{.Server.Version}}' >&2 \
    || die "docker CLI cannot talk to unix://$SOCK"
}

build_base() {
  if real_docker; then return; fi
  with_lock
  if podman image exists "$BASE_IMAGE" && [ "${FORCE_BASE:-0}" != 1 ]; then
    log "base: $BASE_IMAGE already present"; return
  fi
  local R="$CACHE/rootfs" m t0=$SECONDS
  m=$(mirror)
  rm -rf "$R"; mkdir -p "$CACHE"
  log "base: debootstrap --variant=minbase bookworm from $m"
  debootstrap --variant=minbase bookworm "$R" "$m" >"$CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed, see $CACHE/debootstrap.log"
  cat >"$R/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $m
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${m}-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -f "$R/etc/apt/sources.list"
  # The same slimming the official debian:*-slim images do.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$R/etc/apt/apt.conf.d/docker-no-recommends"
  cat >"$R/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
EOF
  cat >"$R/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"; chmod +x "$R/usr/sbin/policy-rc.d"
  rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
    "$R"/var/log/*.log "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/*
  find "$R/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  : >"$R/etc/hostname"; : >"$R/etc/machine-id"
  tar --numeric-owner -C "$R" -c . | podman import -q --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' - "$BASE_IMAGE" >/dev/null
  rm -rf "$R"
  log "base: $BASE_IMAGE built in $((SECONDS - t0))s"
}

# name:tag of each stand-in, as the env subcommand exports it
standin_ref() {
  case $1 in
    distroless-python3) echo "$STANDIN_PREFIX/distroless-python3:debian12-nonroot" ;;
    postgres) echo "$STANDIN_PREFIX/postgres:15-bookworm" ;;
    redis) echo "$STANDIN_PREFIX/redis:7-bookworm" ;;
    nginx) echo "$STANDIN_PREFIX/nginx:1.22-bookworm" ;;
    *) die "unknown stand-in $1" ;;
  esac
}

# gcr.io/distroless/python3-debian12:nonroot, made the way distroless makes it: the Debian 12
# packages it lists (standins/distroless-python3/packages) unpacked side by side, no maintainer
# scripts, plus passwd/group, /tmp, the CA bundle and the python symlinks. No shell, no dpkg.
# An unchanged stand-in is kept (a new import is a new image id), so the app image's layer cache
# survives between runs.
build_distroless_python3() {
  local dir="$ENGINE_DIR/standins/distroless-python3" ref key A="$CACHE/bookworm-apt"
  local R="$CACHE/distroless-rootfs" m deb t0=$SECONDS
  ref=$(standin_ref distroless-python3)
  # rebuilt when its files or this function change
  key=$({ cat "$dir"/*; declare -f build_distroless_python3; } | sha256sum | cut -c1-16)
  if [ "${FORCE_STANDINS:-0}" != 1 ] && [ "$(podman image inspect -f \
    '{{index .Labels "standin.key"}}' "$ref" 2>/dev/null)" = "$key" ]; then
    log "stand-in $ref already present"; return
  fi
  m=$(mirror)
  mkdir -p "$A"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
    "$m" bookworm "$m" bookworm-updates "${m}-security" bookworm-security >"$A/sources.list"
  private_apt "$A" update -qq
  rm -rf "$A/debs" "$R"; mkdir -p "$A/debs" "$R"
  # shellcheck disable=SC2046  # one package name per word
  (cd "$A/debs" && private_apt "$A" download -qq $(sed 's/#.*//' "$dir/packages"))
  # merged /usr like Debian 12 (and distroless): /bin, /lib, ... are links into /usr
  mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/var/lib/dpkg/status.d "$R"/etc/ssl/certs
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
  for deb in "$A"/debs/*.deb; do
    case $deb in
      */ca-certificates_*) # only the bundle, as distroless does (update-ca-certificates needs a shell)
        mkdir -p "$A/ca" && dpkg-deb -x "$deb" "$A/ca"
        cat "$A"/ca/usr/share/ca-certificates/*/*.crt >"$R/etc/ssl/certs/ca-certificates.crt"
        rm -rf "$A/ca" ;;
      *) dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$R" ;;
    esac
    # what scanners read to list the packages (distroless writes the same)
    dpkg-deb -f "$deb" >"$R/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
  done
  install -m 644 "$dir/passwd" "$dir/group" "$dir/nsswitch.conf" "$R/etc/"
  install -d -m 1777 "$R/tmp"
  install -d -m 700 "$R/root"
  install -d -m 700 -o 65532 -g 65532 "$R/home/nonroot"
  ln -s python3.11 "$R/usr/bin/python3"; ln -s python3.11 "$R/usr/bin/python"
  tar --numeric-owner -C "$R" -c . | podman import -q \
    --change 'ENTRYPOINT ["/usr/bin/python3.11"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV LANG=C.UTF-8' --change 'USER 65532' --change 'WORKDIR /home/nonroot' \
    --change "LABEL standin.key=$key" - "$ref" >/dev/null
  rm -rf "$R"
  # the stdlib modules that need the unpacked shared libraries must import
  # (9>&-: no container process may keep the lock)
  podman run --rm "$ref" -c 'import bz2, ctypes, decimal, hashlib, lzma, readline, sqlite3, ssl, uuid, zlib' \
    9>&- || die "stand-in $ref: the interpreter or a library is missing"
  log "stand-in $ref built in $((SECONDS - t0))s: $(podman image inspect -f '{{.Size}}' "$ref" \
    | awk '{printf "%.1f MB", $1 / 1e6}')"
}

build_standins() {
  if real_docker; then return; fi
  podman image exists "$BASE_IMAGE" || die "run '$0 base' first ($BASE_IMAGE is missing)"
  local s t0
  for s in postgres redis nginx; do
    t0=$SECONDS
    # layer cache makes a rebuild of an unchanged stand-in take about a second
    BUILDAH_FORMAT=docker podman build -q --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" \
      -t "$(standin_ref "$s")" "$ENGINE_DIR/standins/$s" >/dev/null
    log "stand-in $(standin_ref "$s") ready ($((SECONDS - t0))s)"
  done
  with_lock
  build_distroless_python3
}

print_env() {
  real_docker && return 0
  cat <<EOF
export DOCKER_HOST=unix://$SOCK
export DOCKER_BUILDKIT=0
export BUILDAH_FORMAT=docker
export BUILD_IMAGE=$BASE_IMAGE
export RUNTIME_IMAGE=$(standin_ref distroless-python3)
export POSTGRES_IMAGE=$(standin_ref postgres)
export REDIS_IMAGE=$(standin_ref redis)
export NGINX_IMAGE=$(standin_ref nginx)
EOF
}

stop_pidfile() {
  local f=$1
  if alive "$f"; then
    local pid
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped $(basename "$f" .pid) (pid $pid)"
  fi
  rm -f "$f"
}

teardown() {
  real_docker && return 0
  with_lock
  stop_pidfile "$STATE/health-ticker.pid"
  stop_pidfile "$STATE/podman-api.pid"
  rm -f "$SOCK"
}

status() {
  echo "mode: $(mode)"
  local f
  for f in podman-api health-ticker; do
    if alive "$STATE/$f.pid"; then echo "$f: running (pid $(cat "$STATE/$f.pid"))"; else echo "$f: stopped"; fi
  done
  if command -v podman >/dev/null; then
    podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "debian|standin" || true
  fi
}

case "${1:-}" in
  mode) mode ;;
  setup) setup ;;
  base) build_base ;;
  standins) build_standins ;;
  env) print_env ;;
  teardown) teardown ;;
  status) status ;;
  *) echo "usage: $0 {mode|setup|base|standins|env|teardown|status}" >&2; exit 2 ;;
esac
