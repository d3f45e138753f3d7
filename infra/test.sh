#!/usr/bin/env bash
# Runs every test of the project: installs moto, cfn-lint and the SAM translator into .venv (PyPI), starts
# moto's server on a free loopback port, creates the resources template.yaml defines on it,
# checks formatting and clippy, lints the template, runs the Rust tests (unit, HTTP, store conformance on memory and
# DynamoDB, SQS, KMS, Lambda Runtime API, the inbox page in headless Chromium), and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
# A fresh clone builds everything once: incremental compilation's bookkeeping only costs there.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
# Meta's sample payloads live in ../shared beside the checkout.
export SHARED_DIR="${SHARED_DIR:-$(cd .. && pwd)/shared}"
if [ ! -d "$SHARED_DIR/fixtures/meta" ]; then
  echo "fixtures not found at $SHARED_DIR/fixtures/meta (set SHARED_DIR)" >&2
  exit 1
fi

# Debian's Chromium and ChromeDriver for the inbox page's browser test, installed beside the
# build (root, or sudo without a password); the test fails rather than skips from then on.
mkdir -p target
browser_install=""
# `CHROMIUM` and `CHROMEDRIVER` name others already installed.
if [ ! -x "${CHROMEDRIVER:-/usr/bin/chromedriver}" ] || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  as_root=""; [ "$(id -u)" = 0 ] || as_root="sudo -n"
  ($as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq \
    --no-install-recommends chromium chromium-driver) > target/browser-install.log 2>&1 &
  browser_install=$!
fi

# Python tools (moto, cfn-lint, the SAM translator, schemathesis), pinned, in a project-local
# virtualenv, installed beside the build as well.
python_install=""
if [ ! -x .venv/bin/moto_server ] || ! cmp -s infra/requirements.txt .venv/requirements.txt; then
  (python3 -m venv .venv \
    && .venv/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt \
    && cp infra/requirements.txt .venv/requirements.txt) > target/python-install.log 2>&1 &
  python_install=$!
fi

# Habits first: formatting, imports that climb, lints as errors, and no test helper in a
# release binary.
echo "== cargo fmt --check, layers, cargo clippy -D warnings (while building the tests)"
cargo fmt --all --check
python3 infra/check_layers.py
# Clippy lints the workspace's crates as they are built for the tests: clippy-driver is the
# workspace's rustc wrapper, as `cargo clippy` itself runs it, so the dependencies compile
# once (for the tests) instead of once more to be checked. Kept for every build below.
export RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# Every target but the binaries' own harnesses (`test = false`, `bench = false`; `--all-targets`
# would link each once more): the integration tests build the binaries themselves.
cargo test --workspace --lib --tests --benches --locked --no-run
for f in webhook inbox-api job-processor token-refresh event-relay inbox-local; do
  if cargo tree --locked -p "$f" -e normal,build,features --prefix none | grep -q 'inbox-shared feature "test-util"'; then
    echo "$f links inbox-shared's test-util feature" >&2
    exit 1
  fi
  # One crypto provider (ring, as reqwest and jsonwebtoken use): no aws-lc beside it.
  if cargo tree --locked -p "$f" -e normal,build --prefix none | grep -q '^aws-lc'; then
    echo "$f links aws-lc beside ring" >&2
    exit 1
  fi
done

# The Python tools, installed beside the build (started above).
if [ -n "$python_install" ] && ! wait "$python_install"; then
  echo "installing the Python tools failed:" >&2
  cat target/python-install.log >&2
  exit 1
fi

echo "== cfn-lint template.yaml, SAM transform"
.venv/bin/cfn-lint template.yaml
AWS_DEFAULT_REGION=us-east-1 .venv/bin/python infra/sam_transform.py template.yaml

# moto on a free loopback port, stopped however this script ends, with the template's resources.
source infra/moto.sh moto.log
# A second server for the fault tests that measure a scenario's own pace (`solo_local_aws`):
# moto applies DynamoDB calls one at a time, so on the shared server they would queue behind
# the rest of the suite (and it behind them).
source infra/moto.sh moto-faults.log FAULTS_
# The AWS tests fail (not skip) when these are missing from here on.
export REQUIRE_AWS_TESTS=1
if [ -n "$browser_install" ] && ! wait "$browser_install"; then
  echo "installing chromium and chromium-driver failed:" >&2
  cat target/browser-install.log >&2
  exit 1
fi
export REQUIRE_BROWSER_TESTS=1

echo "== cargo test"
# Most tests wait on moto, the fake Graph API or a child process rather than compute: more
# of them at once than the 2 cores (the default) finish the suite sooner (integration binary,
# measured: 2 at a time 139 s, 4 112 s, 6 100 s, 8 105 s).
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-6}"
# Extra arguments go to cargo test (e.g. `bash infra/test.sh -p inbox-shared -- --nocapture`).
cargo test --workspace --locked "$@"
# The workspace build enables inbox-shared's sqlite feature for inbox-local; the Lambda
# binaries built beside it must still not contain SQLite (only the local server reaches it).
for f in webhook inbox-api job-processor token-refresh event-relay; do
  if [ -f "target/debug/$f" ] && grep -q sqlite3_prepare_v2 "target/debug/$f"; then
    echo "$f links SQLite" >&2
    exit 1
  fi
done

# The OpenAPI document against the running local server: schemathesis generates requests
# from it (deterministic seed) and fails on any 5xx or any answer the document does not
# describe. OAuth is configured so its routes answer rather than 503.
echo "== schemathesis against inbox-local"
# `cargo test --workspace` built target/debug/inbox-local (functions/local/tests use it);
# only a run narrowed with -p needs to build it here.
[ -x target/debug/inbox-local ] || cargo build --locked -p inbox-local
rm -rf target/schemathesis-data # the local server's SQLite store, fresh each run
lport=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -u TABLE_NAME -u JOBS_QUEUE_URL -u KMS_KEY_ID -u STORE APP_ENV=development PORT="$lport" DATA_DIR=target/schemathesis-data \
  META_APP_ID=1 META_OAUTH_REDIRECT_URL=https://inbox.example/cb INSTAGRAM_APP_ID=2 INSTAGRAM_OAUTH_REDIRECT_URL=https://inbox.example/icb \
  target/debug/inbox-local > target/inbox-local.log 2>&1 &
local_pid=$!
trap 'kill $moto_pids $local_pid 2>/dev/null || true; wait $moto_pids $local_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$lport/health" > /dev/null 2>&1 && break; sleep 0.1; done
token=$(target/debug/inbox-local token org_demo)
(cd target && ../.venv/bin/st run "http://127.0.0.1:$lport/api/openapi.json" -H "Authorization: Bearer $token" \
  --max-examples 30 --seed 1 --generation-database none --no-color --exclude-path /api/inbox/events \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance)
