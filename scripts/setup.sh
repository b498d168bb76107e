#!/usr/bin/env bash
# Installs the Debian 12 packages scim-bridge needs (only those missing: no apt call when all are
# present), then configures and builds one CMake preset.
#   scripts/setup.sh [PRESET]      (default: release; see CMakePresets.json)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

# Boost 1.81 (not Debian's default 1.74, which lacks Boost.JSON); SOCI 4.0.3 over libpq;
# PostgreSQL 15 server binaries for the embedded default database and for the tests;
# openssl for certs/make-dev-certs.sh; ccache only speeds up rebuilds.
packages=(
    g++ cmake ninja-build ccache openssl ca-certificates
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libsoci-dev libpq-dev libssl-dev doctest-dev
    postgresql-15 postgresql-contrib
    libcurl4-openssl-dev  # SMTP for invitation mail (server/smtp_mailer)
    libjemalloc-dev       # the server's allocator (server/CMakeLists.txt)
    libyaml-dev pkgconf   # YAML app files for `app import` (server/yaml_json.cpp)
)

missing=()
for p in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # policy-rc.d-less installs may try to start the distribution's own cluster; we never use it.
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
