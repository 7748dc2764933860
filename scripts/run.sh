#!/usr/bin/env bash
# One entry point for every job, so a fresh machine needs nothing but this checkout:
#   bash scripts/run.sh main [ARGS...]   the main job: `tessera quickstart` (TPC-H lineitem, scale 0.1)
#   bash scripts/run.sh codecs [ARGS...] the codec report on TPC-H lineitem
#   bash scripts/run.sh test             the whole test suite, then the loom model checks
#   bash scripts/run.sh setup            only install what is missing
# It installs the system packages the build needs when they are missing (as root, or through
# sudo), keeps the cargo target directory outside the checkout so builds are reused, then runs.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Debian packages the build needs: a C/C++ compiler for zstd-sys and RocksDB, and libclang for
# the bindings generator of librocksdb-sys.
system_packages=(clang libclang-dev g++ make)

setup() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not on PATH: this machine has no Rust toolchain" >&2
    exit 1
  fi
  local missing=()
  for package in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

job="${1:-}"
[ $# -gt 0 ] && shift
case "$job" in
  setup)
    setup
    ;;
  main)
    setup
    cargo run --release -p tessera-cli -- quickstart "$@"
    ;;
  codecs)
    setup
    cargo run --release -p tessera-benches --bin codec_report -- "$@"
    ;;
  test)
    setup
    cargo test --workspace "$@"
    # The version hand-off under loom's model checker (the feature swaps in loom's primitives).
    # `--workspace` keeps the feature resolution of the build above: with `-p tessera` the
    # build-time dependencies of RocksDB's bindings resolve with other features, and a fresh
    # machine would build RocksDB a second time.
    cargo test --workspace --features tessera/loom --lib version::loom
    ;;
  *)
    echo "usage: bash scripts/run.sh main|codecs|test|setup [ARGS...]" >&2
    exit 2
    ;;
esac
