#!/usr/bin/env bash
# Builds the test guest for the real-boot tests, once, into a cache folder:
#   vmlinuz         Debian cloud kernel
#   initramfs.img   busybox + virtio modules + tests/guest/initramfs/ (its /init reports GUEST lines)
#   root.img        raw disk, MBR, one ext4 partition (vda1) holding /vmc-marker
#   seed.iso        NoCloud seed (label cidata)
# Usage: tests/guest/build-guest.sh     (cache: $VMC_GUEST_DIR, default /var/tmp/virt-vmconfig-guest)
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

GUEST_DIR=${VMC_GUEST_DIR:-/var/tmp/virt-vmconfig-guest}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUTPUTS=(vmlinuz initramfs.img root.img seed.iso)

# Loaded in the guest in dependency order; the kernel has ext4 built in.
MODULES=(virtio_pci virtio_blk virtio_net virtiofs virtio-rng isofs vfat nls_cp437 nls_ascii
	nls_utf8 button evdev pvpanic-mmio)

ROOT_MARKER=vmc-rootfs-ok
INSTANCE_ID=vmc-test

log() { echo "build-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Changing this script or the initramfs overlay rebuilds the guest.
inputs_checksum() {
	(cd "$HERE" && find build-guest.sh initramfs -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}

up_to_date() {
	local f
	for f in "${OUTPUTS[@]}"; do
		[[ -f $GUEST_DIR/$f ]] || return 1
	done
	[[ -f $GUEST_DIR/.stamp && $(cat "$GUEST_DIR/.stamp") == "$CHECKSUM" ]]
}

report() {
	local f
	for f in "${OUTPUTS[@]}"; do
		echo "$GUEST_DIR/$f"
	done
}

install_build_deps() {
	local -A package_of=([cpio]=cpio [xz]=xz-utils
		[sfdisk]=fdisk [mkfs.ext4]=e2fsprogs [genisoimage]=genisoimage [flock]=util-linux)
	local missing=() cmd
	for cmd in "${!package_of[@]}"; do
		command -v "$cmd" >/dev/null || missing+=("${package_of[$cmd]}")
	done
	((${#missing[@]})) || return 0
	log "installing ${missing[*]}"
	apt_update_once
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

APT_UPDATED=
apt_update_once() {
	[[ -n $APT_UPDATED ]] && return 0
	log "apt-get update"
	apt-get update -q >&2
	APT_UPDATED=1
}

# Downloads one package into the current folder and prints its file name. A stale package
# list names versions the registry no longer has, so a failure is retried after an update.
download() {
	if ! apt-get download -q "$1" >&2; then
		apt_update_once
		apt-get download -q "$1" >&2
	fi
	ls -t "$1"_*.deb | head -n 1
}

# Prints the modules to load, dependencies first, as paths relative to the module tree.
module_load_order() {
	local tree=$1 path deps
	local -A dep_of=() path_of=() done_=()
	while IFS=: read -r path deps; do
		path_of[$(module_name "$path")]=$path
		dep_of[$path]=$deps
	done <"$tree/modules.dep"

	visit() {
		local path=${path_of[$1]:-} dep
		[[ -n $path ]] || die "kernel has no module $1"
		[[ -z ${done_[$path]:-} ]] || return 0
		done_[$path]=1
		for dep in ${dep_of[$path]}; do
			visit "$(module_name "$dep")"
		done
		echo "$path"
	}
	local m
	for m in "${MODULES[@]}"; do
		visit "$m"
	done
}

module_name() {
	local name=${1##*/}
	echo "${name%%.ko*}"
}

# Copies a module as a plain .ko: busybox insmod does not decompress.
copy_module() {
	case $1 in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*) die "unknown module format: $1" ;;
	esac
}

build_kernel() {
	local meta image deb version
	meta=$(download linux-image-cloud-amd64)
	# The versioned package this metapackage depends on, as its own control file names it.
	image=$(dpkg-deb -f "$meta" Depends | grep -o 'linux-image-[^ ,]*-cloud-amd64' | head -n 1)
	[[ -n $image ]] || die "cannot tell which kernel $meta depends on"
	log "kernel package $image"
	deb=$(download "$image")
	dpkg-deb -x "$deb" kernel
	version=${image#linux-image-}
	install -m 0644 "kernel/boot/vmlinuz-$version" out/vmlinuz
	# The package leaves modules.dep to depmod at install time.
	busybox/bin/busybox depmod -b "$PWD/kernel" "$version"
	KERNEL_TREE=$PWD/kernel/lib/modules/$version
}

build_initramfs() {
	local tree=initramfs-tree applet path name
	mkdir -p "$tree"/{bin,dev,proc,sys,run,tmp,mnt,lib/modules}
	cp -a "$HERE/initramfs/." "$tree/"
	chmod 0755 "$tree/init" "$tree/etc/udhcpc.script" "$tree"/etc/acpi/*/*
	install -m 0755 busybox/bin/busybox "$tree/bin/busybox"
	for applet in $(busybox/bin/busybox --list); do
		[[ $applet == busybox ]] || ln -s busybox "$tree/bin/$applet"
	done
	ln -s bin "$tree/sbin"

	module_load_order "$KERNEL_TREE" >modules.list
	while read -r path; do
		name=$(module_name "$path")
		copy_module "$KERNEL_TREE/$path" "$tree/lib/modules/$name.ko"
		echo "$name"
	done <modules.list >"$tree/lib/modules/load-order"
	log "modules: $(tr '\n' ' ' <"$tree/lib/modules/load-order")"

	(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >out/initramfs.img
}

# A partitioned disk without loop devices: the partition table is written into the image
# file, the filesystem is made in a file of its own and copied in at the partition's offset.
build_root_disk() {
	local start_mib=1 size_mib=32
	mkdir rootfs
	echo "$ROOT_MARKER" >rootfs/vmc-marker
	truncate -s "${size_mib}M" out/root.img
	echo "start=$((start_mib * 2048)), type=83" | sfdisk -q out/root.img
	truncate -s "$((size_mib - start_mib))M" rootfs.ext4
	mkfs.ext4 -q -L vmc-root -d rootfs rootfs.ext4
	dd if=rootfs.ext4 of=out/root.img bs=1M seek="$start_mib" conv=notrunc,sparse status=none
}

build_seed() {
	mkdir seed
	printf 'instance-id: %s\nlocal-hostname: vmc-guest\n' "$INSTANCE_ID" >seed/meta-data
	printf '#cloud-config\n' >seed/user-data
	genisoimage -quiet -output out/seed.iso -volid cidata -joliet -rock seed/user-data seed/meta-data
}

warn_if_unreachable() {
	local dir=$GUEST_DIR
	while [[ $dir != / ]]; do
		if (((0$(stat -c %a "$dir") & 1) == 0)); then
			log "warning: $dir is not world-traversable; QEMU under libvirt (user libvirt-qemu) cannot reach the guest files"
			return
		fi
		dir=$(dirname "$dir")
	done
}

main() {
	CHECKSUM=$(inputs_checksum)
	if up_to_date; then
		report
		return 0
	fi
	umask 022
	mkdir -p "$GUEST_DIR"
	chmod 0755 "$GUEST_DIR"
	GUEST_DIR=$(cd "$GUEST_DIR" && pwd)
	warn_if_unreachable

	install_build_deps
	exec 9>"$GUEST_DIR/.lock"
	flock 9
	# Another run may have finished the build while this one waited for the lock.
	if up_to_date; then
		report
		return 0
	fi

	WORK=$(mktemp -d "$GUEST_DIR/.build.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	cd "$WORK"
	mkdir out
	# apt-get download drops root to _apt, which must be able to write here.
	chown _apt "$WORK" 2>/dev/null || true

	log "building into $GUEST_DIR"
	# Unpacked first: the kernel step uses its depmod.
	local busybox_deb
	busybox_deb=$(download busybox-static)
	dpkg-deb -x "$busybox_deb" busybox
	build_kernel
	build_initramfs
	build_root_disk
	build_seed

	rm -f "$GUEST_DIR/.stamp"
	chmod 0644 out/*
	mv -f out/* "$GUEST_DIR/"
	echo "$CHECKSUM" >"$GUEST_DIR/.stamp"
	chmod 0644 "$GUEST_DIR/.stamp"
	report
}

main "$@"
