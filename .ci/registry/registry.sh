#!/usr/bin/env bash
# A real Confluent-compatible Schema Registry for sragent's CI: Apicurio Registry 3
# (Quarkus, in-memory H2 storage) from Maven Central, no Docker.
#
#   registry.sh start PORT   fetch/unpack the app if needed (see pom.xml), start it on
#                            127.0.0.1:PORT, wait until the ccompat API answers
#   registry.sh stop         stop the registry started by `start` (by PID file)
#   registry.sh fetch        only fetch/unpack the app
#
# Clients use the Confluent API at http://127.0.0.1:PORT/apis/ccompat/v7 (give that
# whole URL to franz-go's sr.URLs / confluent-kafka's schema.registry.url).
# Global compatibility is BACKWARD (Apicurio's default is no rule at all).
#
# Environment:
#   SRCI_RUN           run directory (default /tmp/sragent-ci); log and PID file
#                            go to $SRCI_RUN/registry/
#   REGISTRY_JAVA            java binary (default: first Java 21+ found)
#   REGISTRY_JAVA_OPTS       extra JVM options / -D config overrides, appended last
#   REGISTRY_START_TIMEOUT   seconds to wait for readiness (default 120)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run_dir=${SRCI_RUN:-/tmp/sragent-ci}/registry
app=$here/target/quarkus-app
stamp=$app/.pom.sha256
pid_file=$run_dir/registry.pid
log=$run_dir/registry.log

say() { echo "registry: $*" >&2; }
die() { say "$*"; exit 1; }

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

# The 3.3.x classes are Java 21 bytecode; Debian's default java here is 17.
find_java() {
  if [ -n "${REGISTRY_JAVA:-}" ]; then
    echo "$REGISTRY_JAVA"
    return
  fi
  local j m
  for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/temurin-25-jdk-amd64/bin/java \
    /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [ -x "$j" ] || continue
    m=$(java_major "$j")
    if [ -n "$m" ] && [ "$m" -ge 21 ]; then
      echo "$j"
      return
    fi
  done
  die "no Java 21+ found (set REGISTRY_JAVA)"
}

# build unpacks Apicurio's published quarkus-app (tar.gz:all) into target/quarkus-app,
# unless it is already there and pom.xml has not changed since.
build() {
  local want
  want=$(sha256sum "$here/pom.xml" | cut -d' ' -f1)
  if [ -f "$app/quarkus-run.jar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return
  fi
  say "fetching Apicurio Registry (mvn package in $here)"
  rm -rf "$app"
  local t0=$SECONDS
  if ! mvn -q -B -Dstyle.color=never -f "$here/pom.xml" package >"$run_dir/mvn.log" 2>&1; then
    cat "$run_dir/mvn.log" >&2
    die "mvn package failed (log above: $run_dir/mvn.log)"
  fi
  [ -f "$app/quarkus-run.jar" ] || die "mvn package did not produce $app/quarkus-run.jar"
  echo "$want" >"$stamp"
  say "app ready in $((SECONDS - t0))s"
}

# running prints the PID from the PID file if that process is our registry.
running() {
  local pid
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'quarkus-run.jar' || return 1
  echo "$pid"
}

stop() {
  local pid i
  if ! pid=$(running); then
    rm -f "$pid_file"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do # 30 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.3
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid ignored SIGTERM for 30s, killing"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  say "stopped (pid $pid)"
}

start() {
  local port=${1:-} pid
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 start PORT"
  if pid=$(running); then
    die "already running (pid $pid, $pid_file); run '$0 stop' first"
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is already in use"
  fi
  mkdir -p "$run_dir"
  build
  local java
  java=$(find_java)

  # shellcheck disable=SC2206
  local opts=(
    -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Dquarkus.http.host=127.0.0.1
    -Dquarkus.http.port="$port"
    # The management interface (health/metrics) defaults to 0.0.0.0:9000: keep it off
    # the network and off a fixed port.
    -Dquarkus.management.host=127.0.0.1
    -Dquarkus.management.port=0
    # In-memory storage: Apicurio 3's "in-memory" is SQL storage on an H2 mem database
    # (the built-in default, made explicit). Small pool: the default keeps 20 connections.
    -Dapicurio.storage.kind=sql
    -Dapicurio.storage.sql.kind=h2
    -Dapicurio.datasource.jdbc.initial-size=2
    -Dapicurio.datasource.jdbc.min-size=2
    -Dapicurio.datasource.jdbc.max-size=20
    # Confluent semantics: the global default compatibility is BACKWARD (Apicurio has
    # no global rule by default, so everything would be accepted).
    -Dapicurio.rules.global.compatibility=BACKWARD
    # Schema ids are Apicurio contentIds: one id per distinct schema, shared by every
    # subject/version that registers it and resolved by GET /schemas/ids/{id}, as in
    # Confluent. (legacy mode would hand out globalIds: one per subject version.)
    -Dapicurio.ccompat.legacy-id-mode.enabled=false
    # Re-registering a schema that differs only in formatting/key order returns the
    # existing id instead of a new version, as Confluent does.
    -Dapicurio.ccompat.use-canonical-hash=true
    ${REGISTRY_JAVA_OPTS:-}
  )
  local t0 t1
  t0=$(date +%s%N)
  (cd "$run_dir" && exec "$java" "${opts[@]}" -jar "$app/quarkus-run.jar" </dev/null >"$log" 2>&1) &
  pid=$!
  echo "$pid" >"$pid_file"

  local url=http://127.0.0.1:$port/apis/ccompat/v7
  local deadline=$((SECONDS + ${REGISTRY_START_TIMEOUT:-120}))
  until curl -sf -o /dev/null --max-time 2 "$url/subjects"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pid_file"
      cat "$log" >&2
      die "exited during startup (log above: $log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      cat "$log" >&2
      stop
      die "not ready after ${REGISTRY_START_TIMEOUT:-120}s (log above: $log)"
    fi
    sleep 0.5
  done
  t1=$(date +%s%N)

  # The global rule must be there; set it through the API if the property did not take.
  local cfg='{"compatibility":"BACKWARD"}' ct='Content-Type: application/vnd.schemaregistry.v1+json'
  if ! curl -sf "$url/config" | grep -q '"BACKWARD"'; then
    curl -sf -o /dev/null -X PUT -H "$ct" -d "$cfg" "$url/config" || true
    curl -sf "$url/config" | grep -q '"BACKWARD"' || { stop; die "could not set global compatibility BACKWARD"; }
  fi

  local rss
  rss=$(awk '/VmRSS/ {printf "%d MiB", $2/1024}' "/proc/$pid/status" 2>/dev/null || echo "?")
  say "ready at $url in $(((t1 - t0) / 1000000)) ms (JVM start to ready; pid $pid, RSS $rss, log $log)"
}

case "${1:-}" in
fetch) mkdir -p "$run_dir"; build ;;
start) shift; start "$@" ;;
stop) stop ;;
*) die "usage: $0 fetch | start PORT | stop" ;;
esac
