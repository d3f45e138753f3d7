#!/usr/bin/env bash
# Runs every test of the project. Starts (and stops) whatever the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# Meta's sample payloads live in ../shared beside the checkout.
export SHARED_DIR="${SHARED_DIR:-$(cd .. && pwd)/shared}"
if [ ! -d "$SHARED_DIR/fixtures/meta" ]; then
  echo "fixtures not found at $SHARED_DIR/fixtures/meta (set SHARED_DIR)" >&2
  exit 1
fi

cargo test --workspace --locked
