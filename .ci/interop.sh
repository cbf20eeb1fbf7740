#!/usr/bin/env bash
# Interop check: a non-Go client (Confluent's Python AvroConsumer on librdkafka)
# decodes what `sragent demo` publishes, through the Schema Registry.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import confluent_kafka.avro, avro, requests' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-confluent-kafka python3-avro python3-requests >/dev/null
fi
bin=$(mktemp -d)/sragent
go build -o "$bin" ./cmd/sragent
out=$(mktemp)
"$bin" demo --keep --rows 50 >"$out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  grep -q "stay up until Ctrl-C" "$out" && break
  kill -0 $pid 2>/dev/null || { cat "$out"; exit 1; }
  sleep 0.5
done
grep -q "stay up until Ctrl-C" "$out" || { cat "$out"; echo "demo did not come up"; exit 1; }
/usr/bin/python3 .ci/interop_consume.py "$out"
