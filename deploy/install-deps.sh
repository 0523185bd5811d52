#!/usr/bin/env bash
# Installs every Debian package Sluice's build, tests and examples need.
# Safe to run again: apt-get skips what is already installed, and the package
# lists are refreshed only when a package is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libboost-dev libspdlog-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev    # config files and job files
  libcli11-dev       # command-line parsing of the CLI and daemons
  nlohmann-json3-dev # the CLI's --json output
  libre2-dev         # regexp_extract (gRPC needs it too)
  sqlite3            # the reference the Nexmark tests compare results with
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
