#!/usr/bin/env bash
# The Grafana dashboard's queries, as a person would see them: Debian's
# Prometheus scrapes a live `sragent run` (every second) while batches
# arrive, one of them with a dead letter and the last one incomplete, and
# every panel's PromQL of deploy/grafana/dashboards/sragent.json must
# return data (panels.py). Prometheus runs from $SRCI_RUN/prometheus and
# is stopped by its PID, as is the agent. The key series are drawn with
# gnuplot into $SRCI_DASHBOARD_PNG (default $SRCI_RUN/prometheus/dashboard.png;
# deploy/grafana/dashboard.png is one such run).
#
#   bash .ci/prometheus/dashboard.sh SRAGENT_BINARY PYTHON
#   (KAFKATEST_BROKERS and KAFKATEST_REGISTRY name the broker and registry)
set -euo pipefail
bin=${1:?sragent binary}
py=${2:?python}
dir=${SRCI_RUN:?}/prometheus
prom_port=${SRCI_PROM_PORT:-19091}
agent_port=${SRCI_AGENT_METRICS_PORT:-19464}
say() { echo "dashboard: $*" >&2; }

for tool in prometheus:prometheus gnuplot:gnuplot-nox; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    say "installing ${tool#*:} from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${tool#*:}" >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${tool#*:}" >/dev/null; }
  fi
done
rm -rf "$dir" && mkdir -p "$dir/in" "$dir/src"
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap stop EXIT

cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: sragent
    static_configs: [{targets: ["127.0.0.1:$agent_port"]}]
YAML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
pids+=($!)

go run ./cmd/srgen --out "$dir/src" --groups 1 --orgs 2 --batches 4 --rows 1000 >/dev/null
group=$(ls "$dir/src")
batches=($(ls "$dir/src/$group"))
# A dead letter in the first batch; the last batch lacks a file its manifest lists.
printf '9999,1,x,surplus\r\n' >>"$dir/src/$group/${batches[0]}/SRMapping.csv"
rm "$dir/src/$group/${batches[3]}/SRExtract.zip"
cat >"$dir/sragent.yaml" <<YAML
input: {dir: "$dir/in", settle: 0s, poll: 1s}
archive: {dir: "$dir/archive"}
quarantine: {dir: "$dir/quarantine"}
state: {dir: "$dir/state"}
kafka: {brokers: [${KAFKATEST_BROKERS//,/, }], topic_prefix: dashboard, partitions: 3}
schema_registry: {url: "$KAFKATEST_REGISTRY"}
metrics: {listen: "127.0.0.1:$agent_port"}
log: {level: warn}
YAML
t0=$SECONDS
"$bin" run --config "$dir/sragent.yaml" >"$dir/agent.log" 2>&1 &
pids+=($!)
sleep 10 # the first scrapes see the agent before its first batch
mkdir -p "$dir/in/$group"
for b in "${batches[@]}"; do
  mv "$dir/src/$group/$b" "$dir/in/$group/$b"
  sleep 6
done
sleep 10 # rates over the last scrapes
"$py" .ci/prometheus/panels.py --prometheus "http://127.0.0.1:$prom_port" \
  --dashboard deploy/grafana/dashboards/sragent.json --png "${SRCI_DASHBOARD_PNG:-$dir/dashboard.png}" --seconds $((SECONDS - t0)) ||
  { tail -20 "$dir/agent.log" >&2; exit 1; }
