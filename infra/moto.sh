# Sourced by test.sh and bench.sh: moto's server on a free loopback port (log in target/$1),
# stopped however the sourcing script ends, and the resources template.yaml defines created on
# it. Without a second argument the AWS variables point at it and its TEST_* variables are
# exported; with a prefix ($2, e.g. FAULTS_) only <prefix>AWS_ENDPOINT_URL and
# <prefix>TEST_* are, for tests that need a server of their own (`solo_local_aws`).
prefix="${2:-}"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/python infra/moto_server.py 127.0.0.1 "$port" > "target/$1" 2>&1 &
moto_pid=$!
moto_pids="${moto_pids:-} $moto_pid"
trap 'kill $moto_pids 2>/dev/null || true; wait $moto_pids 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
if [ -z "$prefix" ]; then
  export AWS_ENDPOINT_URL="$endpoint"
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_PROFILE AWS_SESSION_TOKEN
fi
up=""
for _ in $(seq 1 600); do
  if curl -fs "$endpoint/moto-api/" > /dev/null 2>&1; then up=1; break; fi
  kill -0 $moto_pid 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "moto did not start on port $port:" >&2
  cat "target/$1" >&2
  exit 1
fi
export "${prefix}AWS_ENDPOINT_URL=$endpoint"
eval "$(AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  .venv/bin/python infra/local_aws.py template.yaml | sed "s/^export TEST_/export ${prefix}TEST_/")"
