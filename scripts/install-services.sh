#!/usr/bin/env bash
# Installs what the tests and the local rehearsal run for real: Debian's MariaDB server (the
# local stand-in for RDS MySQL; they use mariadbd and mariadb-install-db, and talk to it with
# PyMySQL), with its PAM plugin; PAM's pam_exec (libpam-modules), through which that MariaDB checks
# IAM tokens; unshare (util-linux), which gives each MariaDB a mount namespace of its own for its
# PAM service; and nftables and iproute2 (`make local ARGS=--packets`: the security groups compiled
# into packet filters between network namespaces). moto and the Lambda runtime client come from
# PyPI with the virtualenv; the tests make their TLS certificates with `cryptography`. Needs root
# (or sudo) only when something is missing.
set -euo pipefail

missing=()
{ [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null 2>&1; } || missing+=(mariadb-server)
compgen -G "/usr/lib/*/security/pam_exec.so" >/dev/null || compgen -G "/lib/*/security/pam_exec.so" >/dev/null \
  || missing+=(libpam-modules)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing+=(nftables)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install ${missing[*]} (needs root)" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the package from starting a system-wide server: the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
