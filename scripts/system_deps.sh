#!/usr/bin/env bash
# Install the Debian packages the integration tests need, when missing.
# Idempotent: exits 0 at once when everything is present; runs `apt-get update` only when
# something must be installed; uses sudo only when not root.
set -euo pipefail

# command on PATH -> Debian package that provides it
declare -A NEEDED=(
    [redis-server]=redis-server
    [chromium]=chromium
    [chromedriver]=chromium-driver
    [/usr/sbin/dovecot]=dovecot-imapd
)

missing=()
for cmd in "${!NEEDED[@]}"; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        missing+=("${NEEDED[$cmd]}")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system_deps: missing ${missing[*]} and apt-get is not available; install them by hand." >&2
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "system_deps: need root or sudo to install ${missing[*]}." >&2
        exit 1
    fi
    SUDO=(sudo)
fi

echo "system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
