#!/bin/sh
# Installs from Debian's archive whatever autodump needs to build and test
# and is not installed yet. Debian 12; needs root (or sudo).
set -eu
packages="meson ninja-build pkg-config gcc g++ libc6-dev libyaml-dev libinih-dev libdw-dev libelf-dev
libjansson-dev libzstd-dev zlib1g-dev libcgroup-dev libcmocka-dev gdb elfutils golang-go zstd python3-pytest python3-pytest-timeout util-linux procps strace crun libsystemd-dev scdoc systemd man-db
clang libclang-rt-14-dev libsqlite3-dev sqlite3 chromium default-jdk-headless libcurl4-openssl-dev"
missing=""
for p in $packages; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
