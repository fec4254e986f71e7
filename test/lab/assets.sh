#!/usr/bin/env bash
# Lab assets: everything the real-kernel lab (test/lab/) needs, from Debian's packages, cached.
#
#   bash test/lab/assets.sh            # idempotent; warm runs take about a second
#   bash test/lab/assets.sh --refresh  # apt-get update and pick up a newer linux-image-amd64
#
# 1. Installs on this machine (apt, services are NOT started here: a policy-rc.d forbids it):
#    qemu-system-x86 kmod busybox-static e2fsprogs ipvsadm nginx-light keepalived
#    nfs-kernel-server iptables curl iputils-arping iproute2 udev (+ checks systemd is there).
#    udev: a real VM has it; without it systemd-networkd never sees links as initialised.
#    Guests share this machine's root filesystem over 9p, so these are what the guests run.
# 2. Downloads the Debian generic kernel package linux-image-<ver>-amd64 (resolved from
#    linux-image-amd64's dependency), unpacks it and runs depmod.
# 3. Builds a busybox initramfs whose /init mounts this machine's / read-only over 9p, puts an
#    overlay (tmpfs, or ext4 on /dev/vda for persistent guests) on top, runs the per-guest
#    setup script the harness wrote, and switch_roots into systemd.
# Output: .lab-cache/current.env (KVER, VMLINUZ, INITRD, MODULES) read by test/lab/harness.mjs.
set -euo pipefail

t0=$(date +%s.%N)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$REPO/.lab-cache"
REFRESH=0
[ "${1:-}" = "--refresh" ] && REFRESH=1
mkdir -p "$CACHE"
log() { printf '[assets] %s\n' "$*" >&2; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "$(id -u)" != 0 ]; then
  echo "assets.sh must run as root (apt-get install, depmod)" >&2
  exit 1
fi

# ---------------------------------------------------------------- 1. packages on this machine
PKGS=(qemu-system-x86 kmod busybox-static e2fsprogs ipvsadm nginx-light keepalived
  nfs-kernel-server iptables curl iputils-arping iproute2 udev tcpdump tmux)
missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
UPDATED=0
apt_update() {
  if [ "$UPDATED" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    UPDATED=1
  fi
}
if [ "$REFRESH" = 1 ]; then apt_update; fi
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update
  # Never start daemons on this machine while installing: policy-rc.d exit 101 = "not allowed".
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  trap - EXIT
fi
[ -x /lib/systemd/systemd ] || { echo "systemd is not installed on this machine (/lib/systemd/systemd)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is not on this machine" >&2; exit 1; }
log "packages ok ($(elapsed) s)"

# ---------------------------------------------------------------- 2. the Debian kernel
resolve_kpkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
KPKG=$(resolve_kpkg || true)
if [ -z "$KPKG" ] && [ "$UPDATED" = 0 ]; then
  apt_update
  KPKG=$(resolve_kpkg || true)
fi
if [ -z "$KPKG" ]; then
  # Offline and no package lists: fall back to whatever kernel is cached.
  if [ -f "$CACHE/current.env" ]; then
    log "cannot resolve linux-image-amd64; using the cached kernel"
    KPKG=$(. "$CACHE/current.env" && echo "$KPKG")
  else
    echo "cannot resolve linux-image-amd64's kernel package (apt-get update?)" >&2
    exit 1
  fi
fi
KVER=${KPKG#linux-image-}
KDIR="$CACHE/kernel/$KVER"
if [ ! -f "$KDIR/.done" ]; then
  log "downloading $KPKG"
  rm -rf "$KDIR"
  mkdir -p "$KDIR/deb"
  (cd "$KDIR/deb" && apt-get download -qq -o APT::Sandbox::User=root "$KPKG" >&2)
  dpkg -x "$KDIR"/deb/*.deb "$KDIR/root"
  depmod -b "$KDIR/root" "$KVER"
  rm -rf "$KDIR/deb"
  touch "$KDIR/.done"
  # Keep only the current kernel (~400 MB each).
  for d in "$CACHE"/kernel/*; do [ "$d" = "$KDIR" ] || rm -rf "$d"; done
fi
VMLINUZ="$KDIR/root/boot/vmlinuz-$KVER"
MODULES="$KDIR/root/lib/modules/$KVER"
[ -f "$VMLINUZ" ] && [ -d "$MODULES/kernel/net/netfilter/ipvs" ] || {
  echo "kernel $KVER unpacked badly (no vmlinuz or no ipvs modules)" >&2
  exit 1
}
log "kernel $KVER ok ($(elapsed) s)"

# ---------------------------------------------------------------- 3. the initramfs
# Rebuilt when this script, the kernel or busybox changes.
BUSYBOX=$(command -v busybox || echo /bin/busybox)
stamp=$(cat "${BASH_SOURCE[0]}" "$BUSYBOX" | md5sum | cut -c1-12)
INITRD="$CACHE/initrd-$KVER-$stamp.img"
if [ ! -f "$INITRD" ]; then
  log "building initramfs"
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT
  mkdir -p "$W"/{bin,dev,proc,sys,lower,upper,newroot,persist,modules}
  cp "$BUSYBOX" "$W/bin/busybox"
  ln -s busybox "$W/bin/sh"
  # Modules for: virtio PCI, 9p root, overlay, NICs, serial port, block disk + ext4.
  WANT="virtio_pci 9pnet_virtio 9p overlay virtio_net virtio_console virtio_blk ext4"
  : >"$W/modules/order"
  for m in $WANT; do modprobe -d "$KDIR/root" -S "$KVER" --show-depends "$m"; done |
    while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    base=$(basename "$path")
    grep -qx "$base" "$W/modules/order.names" 2>/dev/null && continue
    case "$path" in
      *.ko) cp "$path" "$W/modules/$base" ;;
      *.ko.xz) xz -dc "$path" >"$W/modules/${base%.xz}"; base=${base%.xz} ;;
      *.ko.zst) zstd -qdc "$path" >"$W/modules/${base%.zst}"; base=${base%.zst} ;;
      *) echo "unexpected module $path" >&2; exit 1 ;;
    esac
    echo "$base" >>"$W/modules/order.names"
    echo "$base" >>"$W/modules/order"
  done
  rm -f "$W/modules/order.names"
  cat >"$W/init" <<'EOF'
#!/bin/sh
# lvs-setup lab initramfs (test/lab/assets.sh). Kernel command line:
#   lab.dir=<host path of this guest's run folder>  (holds setup.sh, read over 9p)
#   lab.modules=<host path of the unpacked /lib/modules/<ver>>   lab.persist=1 (overlay on /dev/vda)
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "[lab-init] $*" >/dev/console; }
fail() { say "FAILED: $*"; sleep 2; echo o >/proc/sysrq-trigger; poweroff -f; }
for m in $(cat /modules/order); do insmod "/modules/$m" 2>/dev/null; done
LABDIR= ; LABMOD= ; PERSIST=0
for a in $(cat /proc/cmdline); do
  case "$a" in
    lab.dir=*) LABDIR=${a#lab.dir=} ;;
    lab.modules=*) LABMOD=${a#lab.modules=} ;;
    lab.persist=1) PERSIST=1 ;;
  esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower ||
  mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /lower || fail "mount 9p hostroot"
if [ "$PERSIST" = 1 ]; then
  i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  mount -t ext4 /dev/vda /persist || fail "mount /dev/vda"
  UP=/persist
else
  mount -t tmpfs -o mode=755,size=60% tmpfs /upper || fail "tmpfs"
  UP=/upper
fi
mkdir -p $UP/upper $UP/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=$UP/upper,workdir=$UP/work /newroot ||
  fail "overlay"
if [ -n "$LABMOD" ]; then
  KV=$(uname -r)
  mkdir -p /newroot/lib/modules/$KV
  mount --bind "/lower$LABMOD" /newroot/lib/modules/$KV || fail "bind modules"
fi
if [ -n "$LABDIR" ] && [ -f "/lower$LABDIR/setup.sh" ]; then
  ROOT=/newroot LOWER=/lower sh "/lower$LABDIR/setup.sh" || fail "setup.sh"
fi
say "switch_root after $(cut -d' ' -f1 /proc/uptime) s"
mount --move /dev /newroot/dev 2>/dev/null
umount /proc /sys 2>/dev/null
exec switch_root /newroot /lib/systemd/systemd
EOF
  chmod 755 "$W/init"
  (cd "$W" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$INITRD.tmp")
  mv "$INITRD.tmp" "$INITRD"
  rm -rf "$W"
  trap - EXIT
  # Drop initramfs images of older builds.
  for f in "$CACHE"/initrd-*.img; do [ "$f" = "$INITRD" ] || rm -f "$f"; done
fi
log "initramfs ok ($(elapsed) s)"

cat >"$CACHE/current.env.tmp" <<EOF
KPKG=$KPKG
KVER=$KVER
VMLINUZ=$VMLINUZ
INITRD=$INITRD
MODULES=$MODULES
EOF
mv "$CACHE/current.env.tmp" "$CACHE/current.env"
log "assets ready in $(elapsed) s: $CACHE/current.env"
cat "$CACHE/current.env"
