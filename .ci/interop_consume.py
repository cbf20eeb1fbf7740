#!/usr/bin/env python3
"""Interop check outside the Go toolchain.

Reads every Avro topic sragent published under a prefix with Confluent's
Python client from PyPI (librdkafka + confluent_kafka.schema_registry's
AvroDeserializer on fastavro), read_committed, from the beginning of every
partition to the end offsets taken at start, and checks what a non-Go
consumer sees against sragent's own bookkeeping on PREFIX.batches:

  - keys decode to records, non-null values decode;
  - snapshot markers (header sr.marker) have op "m", a key whose table is
    <Table>/<type>/<group>, and a marker record of the header's type, and
    every snapshot has a begin and an end marker on
    every partition of its topic;
  - table topics carry r/u/d change events with a source record; every d is
    followed on its partition by a tombstone with the same key bytes, and
    every tombstone follows a d;
  - PREFIX.batches has one BEGIN and one END per batch, and the END counts
    per data_collection (events, deletes, dead letters) add up to what the
    table topics and PREFIX.deadletter hold.

Run with the venv of .ci/python-env.sh:

  py=$(bash .ci/python-env.sh)
  "$py" .ci/interop_consume.py --bootstrap HOST:PORT --registry URL --prefix systmone

Output never contains cell values (rows are patient data in production):
failures name topic, partition, offset and field names only. The last line
is `interop: N passed, M failed` (N, M count checks); the exit code is 1 on
any failure.
"""
import argparse
import collections
import logging
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

MARKER_HEADER = "sr.marker"
MARKER_TYPES = ("snapshot_begin", "snapshot_end")
CHANGE_OPS = ("r", "u", "d")
MAX_LINES_PER_CHECK = 20


class Checks:
    """Named checks; each failure line belongs to one check."""

    def __init__(self):
        self.order = []
        self.failures = collections.defaultdict(list)
        self.suppressed = collections.Counter()

    def check(self, name):
        if name not in self.failures and name not in self.order:
            self.order.append(name)
        self.failures.setdefault(name, [])

    def fail(self, name, detail):
        self.check(name)
        if len(self.failures[name]) < MAX_LINES_PER_CHECK:
            self.failures[name].append(detail)
        else:
            self.suppressed[name] += 1

    def report(self):
        passed = failed = 0
        for name in self.order:
            lines = self.failures[name]
            if not lines:
                passed += 1
                continue
            failed += 1
            for detail in lines:
                print("interop: FAIL [%s] %s" % (name, detail))
            if self.suppressed[name]:
                print("interop: FAIL [%s] ... and %d more" % (name, self.suppressed[name]))
        print("interop: %d passed, %d failed" % (passed, failed))
        return failed


def librdkafka_logger():
    """librdkafka's log lines on stderr, each distinct one at most 3 times (an
    unreachable broker otherwise logs a refused connection every 50ms)."""
    seen = collections.Counter()

    def once(rec):
        seen[rec.getMessage()] += 1
        return seen[rec.getMessage()] <= 3

    log = logging.getLogger("librdkafka")
    if not log.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("librdkafka: %(message)s"))
        h.addFilter(once)
        log.addHandler(h)
        log.propagate = False
        log.setLevel(logging.INFO)
    return log


def where(msg):
    return "%s[%d]@%d" % (msg.topic(), msg.partition(), msg.offset())


def error_name(exc):
    # Exception text from a decoder can quote the bytes it choked on, which
    # are row data: print the exception's type (and its cause's) only.
    name = type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        name += " from " + type(cause).__name__
    return name


class Partition:
    def __init__(self, topic, partition, low, high):
        self.topic, self.partition, self.low, self.high = topic, partition, low, high
        self.done = high <= low  # empty partition: nothing to wait for
        self.records = 0
        self.last_offset = None
        self.pending_delete = None  # (offset, key bytes) of a d awaiting its tombstone


class TopicStats:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind
        self.partitions = 0
        self.records = 0
        self.ops = collections.Counter()  # r/u/d on table topics
        self.events = 0  # non-marker, non-null values
        self.tombstones = 0
        self.markers = 0
        # snapshot_id -> partition -> [marker types in order]
        self.snapshots = collections.defaultdict(lambda: collections.defaultdict(list))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, HOST:PORT[,...]")
    ap.add_argument("--registry", required=True, help="Schema Registry URL")
    ap.add_argument("--prefix", required=True, help="sragent's topic prefix (topics are PREFIX.<table>)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to read everything (default 120)")
    return ap.parse_args()


def list_topics(args, checks):
    admin = AdminClient({"bootstrap.servers": args.bootstrap, "enable.metrics.push": False},
                        logger=librdkafka_logger())
    md = admin.list_topics(timeout=min(30.0, args.timeout))
    prefix = args.prefix + "."
    state = args.prefix + ".state"
    topics = {}
    for name, tmd in sorted(md.topics.items()):
        if not name.startswith(prefix) or name == state:
            continue
        if tmd.error is not None:
            checks.fail("metadata", "%s: %s" % (name, tmd.error))
            continue
        topics[name] = sorted(tmd.partitions)
    return topics


def main():
    args = parse_args()
    checks = Checks()
    checks.check("metadata")
    batches_topic = args.prefix + ".batches"
    dead_topic = args.prefix + ".deadletter"

    topics = list_topics(args, checks)
    if not topics:
        checks.fail("metadata", "no topic starts with %s." % args.prefix)
        return 1 if checks.report() else 0
    for required in (batches_topic, dead_topic):
        if required not in topics:
            checks.fail("metadata", "%s is missing" % required)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        # assign() only: the group is never joined and nothing is committed.
        "group.id": "sragent-interop-%s" % uuid.uuid4().hex[:12],
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        "enable.metrics.push": False,  # no KIP-714 telemetry chatter on stderr
    }, logger=librdkafka_logger())

    # End offsets at start: the high watermarks, asked for by a
    # read_uncommitted client (a read_committed one gets the last stable
    # offset, which on a real broker can trail for a moment after a commit
    # while the coordinator writes the markers). The last offsets of a
    # transactional partition are commit markers that are never delivered,
    # so a partition is done on its end-of-partition event at or past the
    # high watermark (librdkafka reports EOF at the LSO, which reaches the
    # high watermark once no transaction is open), not when a record at
    # high-1 arrives.
    wm = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "sragent-interop-wm-%s" % uuid.uuid4().hex[:12],
        "isolation.level": "read_uncommitted",
        "enable.metrics.push": False,
    }, logger=librdkafka_logger())
    parts = {}
    stats = {}
    for topic, pids in topics.items():
        kind = "batches" if topic == batches_topic else "deadletter" if topic == dead_topic else "table"
        st = stats[topic] = TopicStats(topic, kind)
        st.partitions = len(pids)
        for p in pids:
            low, high = wm.get_watermark_offsets(TopicPartition(topic, p), timeout=min(30.0, args.timeout), cached=False)
            parts[(topic, p)] = Partition(topic, p, low, high)
    wm.close()

    registry = SchemaRegistryClient({"url": args.registry, "timeout": 10})
    checks.check("registry")
    # Each subject is asked for by name: a registry lists only so many
    # subjects (Apicurio: apicurio.ccompat.max-subjects), and the
    # integration tier's other tests register many.
    for topic in topics:
        try:
            registry.get_latest_version(topic + "-value")
        except SchemaRegistryError as exc:
            checks.fail("registry", "no subject %s-value (%s)" % (topic, exc))
        except Exception as exc:  # noqa: BLE001 - unreachable or broken registry
            consumer.close()
            checks.fail("registry", "%s: %s: %s" % (args.registry, type(exc).__name__, exc))
            return 1 if checks.report() else 0
    decode = AvroDeserializer(registry)

    consumer.assign([TopicPartition(t, p, pt.low) for (t, p), pt in parts.items() if not pt.done])

    batch_events = []  # (topic, partition, offset, value) of PREFIX.batches
    dead_tables = collections.Counter()  # data_collection -> dead letters
    deadline = time.monotonic() + args.timeout
    remaining = sum(1 for pt in parts.values() if not pt.done)
    while remaining and time.monotonic() < deadline:
        msgs = consumer.consume(num_messages=500, timeout=0.5)
        for msg in msgs:
            if time.monotonic() >= deadline:
                break  # a slow registry must not stretch the run past --timeout
            err = msg.error()
            key = (msg.topic(), msg.partition())
            pt = parts.get(key)
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    if pt is not None and not pt.done and msg.offset() >= pt.high:
                        pt.done = True
                        remaining -= 1
                    continue
                checks.fail("consume", "%s[%s]: %s" % (msg.topic(), msg.partition(), err))
                if err.fatal():
                    remaining = 0
                    break
                continue
            if pt is None:
                continue
            if msg.offset() >= pt.high:
                continue  # published after we started: not part of this check
            pt.records += 1
            pt.last_offset = msg.offset()
            handle(msg, pt, stats[msg.topic()], decode, checks, batch_events, dead_tables, args.prefix)
    consumer.close()

    for (topic, p), pt in sorted(parts.items()):
        checks.check("read %s" % topic)
        if not pt.done:
            checks.fail("read %s" % topic, "%s[%d]: read %d records up to offset %s within %.0fs, end offset was %d (log start %d)"
                        % (topic, p, pt.records, pt.last_offset, args.timeout, pt.high, pt.low))
        if pt.pending_delete is not None:
            checks.fail("deletes %s" % topic, "%s[%d]@%d: d event is the last record of the partition, no tombstone follows"
                        % (topic, p, pt.pending_delete[0]))
        stats[topic].records += pt.records

    check_markers(stats, parts, checks)
    check_batches(stats, batch_events, dead_tables, args.prefix, checks)

    for topic, st in sorted(stats.items()):
        ops = " ".join("%s=%d" % (op, st.ops[op]) for op in CHANGE_OPS) if st.kind == "table" else ""
        print("interop: %-40s partitions %d  records %d  events %d%s  tombstones %d  markers %d  snapshots %d"
              % (topic, st.partitions, st.records, st.events, " (%s)" % ops if ops else "", st.tombstones,
                 st.markers, len(st.snapshots)))
    return 1 if checks.report() else 0


def handle(msg, pt, st, decode, checks, batch_events, dead_tables, prefix):
    topic = msg.topic()
    headers = msg.headers() or []
    marker_headers = [v for k, v in headers if k == MARKER_HEADER]
    dec = "decode %s" % topic
    checks.check(dec)
    try:
        key = decode(msg.key(), SerializationContext(topic, MessageField.KEY, headers))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding
        checks.fail(dec, "%s: key did not decode (%s)" % (where(msg), error_name(exc)))
        key = None
    else:
        if not isinstance(key, dict):
            checks.fail(dec, "%s: key decoded to %s, not a record" % (where(msg), type(key).__name__))
    raw_value = msg.value()
    value = None
    if raw_value is not None:
        try:
            value = decode(raw_value, SerializationContext(topic, MessageField.VALUE, headers))
        except Exception as exc:  # noqa: BLE001
            checks.fail(dec, "%s: value did not decode (%s)" % (where(msg), error_name(exc)))
            return
        if not isinstance(value, dict):
            checks.fail(dec, "%s: value decoded to %s, not a record" % (where(msg), type(value).__name__))
            return

    if st.kind == "table":
        handle_table(msg, pt, st, key, value, marker_headers, checks)
        return
    if marker_headers:
        checks.fail("structure %s" % topic, "%s: %s header on a %s record" % (where(msg), MARKER_HEADER, st.kind))
    if value is None:
        st.tombstones += 1
        checks.fail("structure %s" % topic, "%s: null value on %s" % (where(msg), topic))
        return
    st.events += 1
    if st.kind == "batches":
        batch_events.append((msg.partition(), msg.offset(), value))
    else:
        table = value.get("table")
        if not isinstance(table, str) or not table:
            checks.fail("structure %s" % topic, "%s: dead letter without field table" % where(msg))
        else:
            dead_tables[prefix + "." + table] += 1


def handle_table(msg, pt, st, key, value, marker_headers, checks):
    topic = msg.topic()
    structure = "structure %s" % topic
    deletes = "deletes %s" % topic
    checks.check(structure)
    checks.check(deletes)
    pending, pt.pending_delete = pt.pending_delete, None
    if value is None:
        st.tombstones += 1
        if marker_headers:
            checks.fail(structure, "%s: %s header on a tombstone" % (where(msg), MARKER_HEADER))
        if pending is None:
            checks.fail(deletes, "%s: tombstone does not follow a d event" % where(msg))
        elif pending[1] != msg.key():
            checks.fail(deletes, "%s: tombstone's key bytes differ from the d event's at offset %d" % (where(msg), pending[0]))
        return
    if pending is not None:
        checks.fail(deletes, "%s[%d]@%d: d event is followed by a non-tombstone at offset %d"
                    % (topic, msg.partition(), pending[0], msg.offset()))
    if marker_headers:
        st.markers += 1
        handle_marker(msg, st, key, value, marker_headers, checks)
        return
    op = value.get("op")
    if op == "m":
        checks.fail(structure, "%s: op m without the %s header" % (where(msg), MARKER_HEADER))
        st.markers += 1
        return
    st.events += 1
    if op not in CHANGE_OPS:
        checks.fail(structure, "%s: op is not r/u/d" % where(msg))
        return
    st.ops[op] += 1
    if not isinstance(value.get("source"), dict):
        checks.fail(structure, "%s: %s event without a source record" % (where(msg), op))
    if value.get("marker") is not None:
        checks.fail(structure, "%s: %s event with a marker" % (where(msg), op))
    row = "before" if op == "d" else "after"
    if not isinstance(value.get(row), dict):
        checks.fail(structure, "%s: %s event without field %s" % (where(msg), op, row))
    if op == "d":
        pt.pending_delete = (msg.offset(), msg.key())


def handle_marker(msg, st, key, value, marker_headers, checks):
    name = "markers %s" % msg.topic()
    checks.check(name)
    if len(marker_headers) != 1:
        checks.fail(name, "%s: %d %s headers" % (where(msg), len(marker_headers), MARKER_HEADER))
    raw = marker_headers[0]
    htype = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if htype not in MARKER_TYPES:
        checks.fail(name, "%s: %s header is not one of %s" % (where(msg), MARKER_HEADER, "/".join(MARKER_TYPES)))
    if value.get("op") != "m":
        checks.fail(name, "%s: marker with op other than m" % where(msg))
    marker = value.get("marker")
    # The value schema has "marker": ["null", sragent.Marker]; with
    # return_record_name off, fastavro returns the record's dict itself.
    if not isinstance(marker, dict):
        checks.fail(name, "%s: marker field is not a sragent.Marker record" % where(msg))
        return
    if marker.get("type") != htype:
        checks.fail(name, "%s: marker.type does not equal the %s header" % (where(msg), MARKER_HEADER))
    sid = marker.get("snapshot_id")
    if not isinstance(sid, str) or not sid:
        checks.fail(name, "%s: marker without snapshot_id" % where(msg))
        return
    # The key no row can have: table is <Table>/<type>/<group>, one per
    # group so that compaction keeps every group's boundary.
    group = (value.get("source") or {}).get("group")
    want = "%s/%s/%s" % (msg.topic().split(".", 1)[1], htype, group)
    if not isinstance(key, dict) or key.get("table") != want:
        checks.fail(name, "%s: marker key table %r, want %r" % (where(msg), (key or {}).get("table"), want))
    st.snapshots[sid][msg.partition()].append((marker.get("type"), msg.offset()))


def check_markers(stats, parts, checks):
    for topic, st in sorted(stats.items()):
        if st.kind != "table" or not st.snapshots:
            continue
        name = "markers %s" % topic
        checks.check(name)
        pids = sorted(p for (t, p) in parts if t == topic)
        for sid, by_part in sorted(st.snapshots.items()):
            for p in pids:
                seq = [t for t, _ in by_part.get(p, [])]
                if seq != list(MARKER_TYPES):
                    checks.fail(name, "%s[%d]: snapshot %s has markers %s, want one snapshot_begin then one snapshot_end"
                                % (topic, p, sid, seq or "none"))


def check_batches(stats, batch_events, dead_tables, prefix, checks):
    name = "batches"
    checks.check(name)
    begins, ends = collections.Counter(), collections.Counter()
    events = collections.Counter()
    deletes = collections.Counter()
    dead = collections.Counter()
    for p, off, v in batch_events:
        at = "%s.batches[%d]@%d" % (prefix, p, off)
        status = v.get("status")
        gb = (v.get("group"), v.get("batch"))
        if not all(isinstance(x, str) and x for x in gb):
            checks.fail(name, "%s: batch event without group/batch" % at)
            continue
        if status == "BEGIN":
            if ends[gb]:
                checks.fail(name, "%s: BEGIN after the END of batch %s/%s" % (at, gb[0], gb[1]))
            begins[gb] += 1
            continue
        if status != "END":
            checks.fail(name, "%s: status is neither BEGIN nor END" % at)
            continue
        if not begins[gb]:
            checks.fail(name, "%s: END of batch %s/%s without a BEGIN before it" % (at, gb[0], gb[1]))
        ends[gb] += 1
        cols = v.get("data_collections")
        if not isinstance(cols, list):
            checks.fail(name, "%s: END without data_collections" % at)
            continue
        total = 0
        for c in cols:
            dc = c.get("data_collection")
            if not isinstance(dc, str) or not dc.startswith(prefix + "."):
                checks.fail(name, "%s: data_collection is not a %s.* topic" % (at, prefix))
                continue
            events[dc] += c.get("event_count") or 0
            deletes[dc] += c.get("deletes") or 0
            dead[dc] += c.get("dead_letters") or 0
            total += c.get("event_count") or 0
        if v.get("event_count") != total:
            checks.fail(name, "%s: END event_count is not the sum over its data_collections" % at)
    for gb in sorted(set(begins) | set(ends)):
        if begins[gb] != 1 or ends[gb] != 1:
            checks.fail(name, "batch %s/%s has %d BEGIN and %d END events, want 1 and 1" % (gb[0], gb[1], begins[gb], ends[gb]))

    # END counts against what the topics hold.
    tables = sorted(set(events) | set(deletes) | set(dead) | set(dead_tables)
                    | {t for t, st in stats.items() if st.kind == "table"})
    for topic in tables:
        cname = "counts %s" % topic
        checks.check(cname)
        st = stats.get(topic)
        if st is None:
            if events[topic] or deletes[topic]:
                checks.fail(cname, "%s: END events count %d events, %d deletes, but the topic does not exist"
                            % (topic, events[topic], deletes[topic]))
        else:
            if st.events != events[topic]:
                checks.fail(cname, "%s: %d r/u/d events on the topic, END events sum event_count to %d"
                            % (topic, st.events, events[topic]))
            if st.ops["d"] != deletes[topic]:
                checks.fail(cname, "%s: %d d events on the topic, END events sum deletes to %d"
                            % (topic, st.ops["d"], deletes[topic]))
            if st.tombstones != deletes[topic]:
                checks.fail(cname, "%s: %d tombstones on the topic, END events sum deletes to %d"
                            % (topic, st.tombstones, deletes[topic]))
        if dead_tables[topic] != dead[topic]:
            checks.fail(cname, "%s: %d dead letters name this table, END events sum dead_letters to %d"
                        % (topic, dead_tables[topic], dead[topic]))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaException as exc:
        print("interop: FAIL [kafka] %s" % exc)
        print("interop: 0 passed, 1 failed")
        sys.exit(1)
