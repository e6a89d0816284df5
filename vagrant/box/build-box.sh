#!/usr/bin/env bash
# Build a Debian 12 (bookworm) Vagrant box for the libvirt provider, locally, with no box catalogue:
# debootstrap a rootfs, put the whole disk in one ext4 image and boot it by direct kernel boot
# (kernel + initrd travel inside the box), so no bootloader is needed.
#
# Usage: vagrant/box/build-box.sh OUTPUT.box      (needs root, debootstrap, qemu-utils, e2fsprogs)
# Env:   MIRROR (default: the host's Debian mirror), WORK (scratch dir, default next to OUTPUT)
set -euo pipefail

OUT_BOX=${1:?usage: build-box.sh OUTPUT.box}
[[ $EUID -eq 0 ]] || { echo "build-box.sh: must run as root (debootstrap, chroot)" >&2; exit 2; }
for tool in debootstrap qemu-img mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "build-box.sh: missing $tool" >&2; exit 2; }
done
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
WORK=${WORK:-$(dirname "$OUT_BOX")/box-work}
R=$WORK/rootfs
OUT=$WORK/out
VAGRANT_PUB=$(dpkg -L vagrant 2>/dev/null | grep 'keys/vagrant.pub$' | head -1 || true)
[[ -n $VAGRANT_PUB ]] || { echo "build-box.sh: vagrant's insecure key not found (apt-get install vagrant)" >&2; exit 2; }

rm -rf "$WORK"; mkdir -p "$WORK" "$OUT"
# minbase + exactly what Vagrant and Ansible need: systemd, sshd, sudo, DHCP on eth0, python3.
debootstrap --variant=minbase \
  --include=linux-image-amd64,initramfs-tools,systemd,systemd-sysv,udev,dbus,openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,iputils-ping,rsync,python3,python3-apt,ca-certificates,netbase,procps,kmod,less \
  bookworm "$R" "$MIRROR"

echo vagrant-debian > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 vagrant-debian\n' > "$R/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$R/etc/fstab"
# ifnames=0 on the kernel command line keeps the first NIC named eth0; Vagrant configures eth1+.
cat > "$R/etc/network/interfaces" <<'EOI'
auto lo
iface lo inet loopback
allow-hotplug eth0
iface eth0 inet dhcp
source /etc/network/interfaces.d/*
EOI
mkdir -p "$R/etc/network/interfaces.d"

# The Vagrant base-box convention: user vagrant, passwordless sudo, the well-known insecure key
# (Vagrant swaps it for a per-machine key on first boot).
chroot "$R" useradd -m -s /bin/bash -G sudo vagrant
echo 'vagrant:vagrant' | chroot "$R" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$R/etc/sudoers.d/vagrant"
chmod 0440 "$R/etc/sudoers.d/vagrant"
install -d -m 700 -o 1000 -g 1000 "$R/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$VAGRANT_PUB" "$R/home/vagrant/.ssh/authorized_keys"
echo 'UseDNS no' > "$R/etc/ssh/sshd_config.d/vagrant.conf"
# Each machine gets its own identity on first boot.
: > "$R/etc/machine-id"
rm -f "$R"/etc/ssh/ssh_host_*
mkdir -p "$R/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
  > "$R/etc/systemd/system/ssh.service.d/hostkeys.conf"
chroot "$R" systemctl enable serial-getty@ttyS0.service || true
# A throwaway dev/test VM: dpkg's fsync per file is what makes package installs crawl under
# emulation (TCG) on a qcow2 overlay, and a crash only costs a `vagrant destroy`. Docker's
# Debian images make the same choice.
echo force-unsafe-io > "$R/etc/dpkg/dpkg.cfg.d/unsafe-io"
printf 'virtio_pci\nvirtio_blk\nvirtio_net\next4\n' >> "$R/etc/initramfs-tools/modules"
chroot "$R" update-initramfs -u -k all
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/*

cp "$(ls "$R"/boot/vmlinuz-* | sort | tail -1)" "$OUT/vmlinuz"
cp "$(ls "$R"/boot/initrd.img-* | sort | tail -1)" "$OUT/initrd.img"
# mkfs.ext4 -d fills the filesystem from a directory: no loop mount needed.
truncate -s 8G "$OUT/root.raw"
mkfs.ext4 -q -F -L rootfs -d "$R" "$OUT/root.raw"
qemu-img convert -c -O qcow2 "$OUT/root.raw" "$OUT/box.img"
rm "$OUT/root.raw"
echo '{ "provider": "libvirt", "format": "qcow2", "virtual_size": 8 }' > "$OUT/metadata.json"
cat > "$OUT/Vagrantfile" <<'EOV'
# Box-level defaults (merged under the project's Vagrantfile).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver   = "qemu"   # TCG: this box is built for hosts where KVM cannot run a stock kernel
    libvirt.kernel   = File.join(File.dirname(__FILE__), "vmlinuz")
    libvirt.initrd   = File.join(File.dirname(__FILE__), "initrd.img")
    libvirt.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 biosdevname=0"
    # dev VM disk: the host page cache absorbs the guest's flushes (a crash costs a destroy)
    libvirt.disk_driver :cache => "unsafe"
  end
end
EOV
mkdir -p "$(dirname "$OUT_BOX")"
tar -C "$OUT" -czf "$OUT_BOX.tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$OUT_BOX.tmp" "$OUT_BOX"
rm -rf "$WORK"
ls -la "$OUT_BOX"
