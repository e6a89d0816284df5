#!/usr/bin/env bash
# Start or stop libvirtd + virtlogd on a host whose PID 1 is not systemd (containers, CI sandboxes),
# so vagrant-libvirt can run. On a normal host use `systemctl start libvirtd` instead.
#
#   tools/libvirt-daemons.sh start   # idempotent; prints "started" or "already running"
#   tools/libvirt-daemons.sh stop    # stops what `start` started (pid files), cleans iptables
#   tools/libvirt-daemons.sh status
#
# One-time host change `start` makes: qemu runs as root without a security driver, because the box's
# kernel and initrd live under the Vagrant home, which libvirt-qemu cannot read.
set -euo pipefail
STATE=/run/flask-multitier-libvirt
VIRSH=(virsh -c qemu:///system)

running() { [ -f /run/libvirtd.pid ] && kill -0 "$(cat /run/libvirtd.pid)" 2>/dev/null; }

configure_qemu() {
  local conf=/etc/libvirt/qemu.conf
  grep -q '^# flask-multitier: qemu as root' "$conf" 2>/dev/null && return
  printf '# flask-multitier: qemu as root (box kernels live under the Vagrant home)\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n' >>"$conf"
}

start() {
  command -v libvirtd >/dev/null || { echo "libvirtd missing: apt-get install libvirt-daemon-system" >&2; exit 2; }
  configure_qemu
  if running; then echo "already running"; return; fi
  mkdir -p "$STATE" /run/libvirt /var/lib/libvirt/images
  if ! { [ -f /run/virtlogd.pid ] && kill -0 "$(cat /run/virtlogd.pid)" 2>/dev/null; }; then
    /usr/sbin/virtlogd -d
  fi
  /usr/sbin/libvirtd -d
  local _
  for _ in $(seq 50); do "${VIRSH[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
  "${VIRSH[@]}" version >/dev/null || { echo "libvirtd did not answer" >&2; exit 1; }
  cp /run/libvirtd.pid "$STATE/libvirtd.pid"; cp /run/virtlogd.pid "$STATE/virtlogd.pid"
  "${VIRSH[@]}" pool-info default >/dev/null 2>&1 \
    || "${VIRSH[@]}" pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
  "${VIRSH[@]}" pool-start default >/dev/null 2>&1 || true
  echo "started"
}

stop() {
  [ -f "$STATE/libvirtd.pid" ] || { echo "not started by this script"; return; }
  local d n f
  for d in $("${VIRSH[@]}" list --name 2>/dev/null); do "${VIRSH[@]}" destroy "$d" >/dev/null; done
  for n in $("${VIRSH[@]}" net-list --name 2>/dev/null); do "${VIRSH[@]}" net-destroy "$n" >/dev/null; done
  for f in libvirtd virtlogd; do
    if [ -f "$STATE/$f.pid" ]; then kill "$(cat "$STATE/$f.pid")" 2>/dev/null || true; fi
    rm -f "$STATE/$f.pid"
  done
  # libvirtd leaves empty LIBVIRT_* chains behind
  local ipt c t
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for c in INP:INPUT FWX:FORWARD FWI:FORWARD FWO:FORWARD OUT:OUTPUT; do
      "$ipt" -D "${c#*:}" -j "LIBVIRT_${c%%:*}" 2>/dev/null || true
      "$ipt" -X "LIBVIRT_${c%%:*}" 2>/dev/null || true
    done
    for t in nat mangle; do
      "$ipt" -t "$t" -D POSTROUTING -j LIBVIRT_PRT 2>/dev/null || true
      "$ipt" -t "$t" -X LIBVIRT_PRT 2>/dev/null || true
    done
  done
  echo "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat /run/libvirtd.pid))"; else echo "stopped"; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
