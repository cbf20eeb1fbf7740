#!/usr/bin/env bash
# A real Apache Kafka (KRaft, no ZooKeeper, no Docker) for sragent's
# integration tier and for local use.
#
#   kafka.sh start single     one combined broker+controller on 127.0.0.1:19092
#   kafka.sh start cluster    three combined nodes on 127.0.0.1:29092,29192,29292
#                             (transaction state RF 3, min.insync.replicas 2)
#   kafka.sh stop [MODE]      stop every node this run directory started (by PID)
#   kafka.sh kill MODE N      kill -9 node N (1-based) of single or cluster
#   kafka.sh restart MODE N   start node N again on its existing storage, wait
#   kafka.sh pause MODE N     SIGSTOP node N: it hangs, connections stay open
#   kafka.sh cont MODE N      SIGCONT node N
#   kafka.sh brokers MODE     print the bootstrap list of single or cluster
#
# Jars come from Maven Central through pom.xml (cached in ~/.m2; copied to
# target/libs once). State, logs and PIDs live in $SRCI_RUN/kafka-<mode>
# (default /tmp/sragent-ci). Java 17 or newer; JAVA_HOME is honoured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
run=${SRCI_RUN:-/tmp/sragent-ci}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
libs=$here/target/libs

fetch() {
  if [ ! -f "$libs/.complete" ] || [ "$here/pom.xml" -nt "$libs/.complete" ]; then
    rm -rf "$libs"
    mkdir -p "$run"
    if ! mvn -q -B -Dstyle.color=never -f "$here/pom.xml" package >"$run/kafka-mvn.log" 2>&1; then
      cat "$run/kafka-mvn.log" >&2
      echo "kafka.sh: fetching Kafka from Maven Central failed (log above)" >&2
      exit 1
    fi
    touch "$libs/.complete"
  fi
}

# node_dir MODE N
node_dir() { echo "$run/kafka-$1/node$2"; }

# ports MODE N -> "broker controller"
ports() {
  if [ "$1" = single ]; then echo "19092 19093"; else echo "$((28992 + 100 * $2)) $((28993 + 100 * $2))"; fi
}

count() { if [ "$1" = single ]; then echo 1; else echo 3; fi; }

brokers() {
  local mode=$1 out=""
  for n in $(seq 1 "$(count "$mode")"); do
    read -r bp _ <<<"$(ports "$mode" "$n")"
    out="$out${out:+,}127.0.0.1:$bp"
  done
  echo "$out"
}

write_config() {
  local mode=$1 n=$2 dir voters="" rf=1 isr=1
  dir=$(node_dir "$mode" "$n")
  mkdir -p "$dir/data"
  read -r bp cp <<<"$(ports "$mode" "$n")"
  for m in $(seq 1 "$(count "$mode")"); do
    read -r _ mcp <<<"$(ports "$mode" "$m")"
    voters="$voters${voters:+,}$m@127.0.0.1:$mcp"
  done
  if [ "$mode" = cluster ]; then rf=3 isr=2; fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bp,CONTROLLER://127.0.0.1:$cp
advertised.listeners=PLAINTEXT://127.0.0.1:$bp
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# Small and quick for tests: the log cleaner wakes every second, timed-out
# transactions are aborted within a second, a dead node is noticed fast.
log.cleaner.backoff.ms=1000
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=500
log.segment.bytes=16777216
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
PROPS
  if [ -n "${SRCI_KAFKA_EXTRA:-}" ]; then printf '%s\n' "$SRCI_KAFKA_EXTRA" >>"$dir/server.properties"; fi
}

# jvm MODE N ARGS... execs a JVM with Kafka's classpath: call it in a subshell.
jvm() {
  local mode=$1 n=$2 dir heap=512m
  shift 2
  dir=$(node_dir "$mode" "$n")
  if [ "$mode" = cluster ]; then heap=384m; fi
  exec "$java" -Xms64m -Xmx$heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1 -Xss512k \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dkafka.log.file="$dir/server.log" -cp "$libs/*" "$@"
}

start_node() {
  local mode=$1 n=$2 dir
  dir=$(node_dir "$mode" "$n")
  : >"$dir/server.log.start"
  jvm "$mode" "$n" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
}

wait_node() {
  local mode=$1 n=$2 dir pid t0=$SECONDS
  dir=$(node_dir "$mode" "$n")
  pid=$(cat "$dir/pid")
  # `Kafka Server started` is logged once the broker has caught up with
  # the metadata log and is unfenced.
  until grep -q "Kafka Server started" "$dir/server.log" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "kafka node $n exited during start-up:" >&2; tail -n 40 "$dir/server.log" "$dir/stdout.log" >&2; return 1
    fi
    if [ $((SECONDS - t0)) -gt 120 ]; then
      echo "kafka node $n not ready after 120 s:" >&2; tail -n 40 "$dir/server.log" >&2; return 1
    fi
    sleep 0.2
  done
}

start() {
  local mode=$1 id t0=$SECONDS
  case "$mode" in single|cluster) ;; *) echo "usage: kafka.sh start single|cluster" >&2; exit 2;; esac
  fetch
  stop_mode "$mode"
  rm -rf "$run/kafka-$mode"
  id=$(jvm "$mode" 1 kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  for n in $(seq 1 "$(count "$mode")"); do
    write_config "$mode" "$n"
    (jvm "$mode" "$n" kafka.tools.StorageTool format -t "$id" -c "$(node_dir "$mode" "$n")/server.properties") >/dev/null
  done
  for n in $(seq 1 "$(count "$mode")"); do start_node "$mode" "$n"; done
  for n in $(seq 1 "$(count "$mode")"); do wait_node "$mode" "$n"; done
  echo "kafka $mode up in $((SECONDS - t0)) s: $(brokers "$mode")" >&2
}

stop_mode() {
  local mode=$1 dir pid
  for n in 1 2 3; do
    dir=$(node_dir "$mode" "$n")
    [ -f "$dir/pid" ] || continue
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -CONT "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/pid"
  done
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-single}" ;;
  stop) if [ -n "${2:-}" ]; then stop_mode "$2"; else stop_mode single; stop_mode cluster; fi ;;
  kill)
    dir=$(node_dir "$2" "$3")
    pid=$(cat "$dir/pid")
    kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done ;;
  restart)
    dir=$(node_dir "$2" "$3")
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then echo "node $3 is running" >&2; exit 1; fi
    mv "$dir/server.log" "$dir/server.log.$(date +%s%N)" 2>/dev/null || true
    start_node "$2" "$3"; wait_node "$2" "$3" ;;
  pause) kill -STOP "$(cat "$(node_dir "$2" "$3")/pid")" ;;
  cont) kill -CONT "$(cat "$(node_dir "$2" "$3")/pid")" ;;
  brokers) brokers "$2" ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
