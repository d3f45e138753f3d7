#!/usr/bin/env bash
# The speed and cost bench (README, "Speed and cost"): builds the local server, the Lambda
# functions, the cold-start floor and the bench in release, starts moto on a free loopback
# port (as the test command does), and prints one table of the product against its floors,
# measured in the same run. Not part of the test command. BENCH_SECONDS (8),
# BENCH_PARTS (ingest,aws,cold,logs,heat: the parts to run),
# BENCH_WARMUP_SECONDS (2) and BENCH_CONNECTIONS (32) set the load.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target

if [ ! -x .venv/bin/moto_server ] || ! cmp -s infra/requirements.txt .venv/requirements.txt; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
  cp infra/requirements.txt .venv/requirements.txt
fi

echo "== cargo build --release (the local server, the functions, the floor, the bench)" >&2
cargo build --release --locked -p inbox-local -p webhook -p inbox-api -p job-processor -p token-refresh \
  -p event-relay -p lambda-floor -p inbox-bench >&2

source infra/moto.sh bench-moto.log
export SHARED_DIR="${SHARED_DIR:-$(cd .. && pwd)/shared}"
target/release/inbox-bench
