#!/usr/bin/env python3
"""A standard sink outside Go: Debezium's and Kafka Connect's JDBC rules into PostgreSQL.

Reads every table topic sragent published under a prefix with Confluent's
Python client (read_committed, AvroDeserializer) and applies to each record
exactly what this Kafka Connect pipeline would, into PostgreSQL:

  transforms=dropMarkers,unwrap
  transforms.dropMarkers.type=org.apache.kafka.connect.transforms.Filter
  transforms.dropMarkers.predicate=isMarker
  predicates.isMarker.type=org.apache.kafka.connect.transforms.predicates.HasHeaderKey
  predicates.isMarker.name=sr.marker
  transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
      (defaults: a "d" event is dropped, its tombstone is kept)
  connector: io.debezium.connector.jdbc.JdbcSinkConnector
      insert.mode=upsert, pk.mode=record_key, delete.enabled=true

so: a record with header sr.marker is dropped; a "d" event is dropped; a
tombstone deletes the row with the record key's columns (the key's "table"
field excepted); an "r"/"u" event upserts its "after" by the key's columns.
The converter for Confluent-framed Avro is not on Maven Central, which is
why the rules run here rather than in Connect.

It then compares every table with srgen's final state (srgen --expected):
one row per key, string and long columns equal. Organisations' tables hold
every group's rows; a shared table holds one row per key (every group's
copy of reference data is the same). Output never contains cell values:
failures name tables, counts and columns. The last line is
`sink: N tables match, M differ`; the exit code is 1 on any difference.

  "$py" .ci/sink_rules.py --bootstrap HOST:PORT --registry URL --prefix interop \\
      --dsn "host=127.0.0.1 port=15432 user=sragent dbname=postgres" --expected expected.json
"""
import argparse
import datetime
import json
import os
import sys
import time
import uuid
from zoneinfo import ZoneInfo

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

MARKER_HEADER = "sr.marker"
LONDON = ZoneInfo("Europe/London")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--dsn", required=True, help="PostgreSQL connection string")
    ap.add_argument("--expected", required=True, help="srgen --expected JSON")
    ap.add_argument("--timeout", type=float, default=120.0)
    return ap.parse_args()


def table_topics(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap, "enable.metrics.push": False})
    md = admin.list_topics(timeout=30)
    own = {args.prefix + "." + s for s in ("state", "batches", "deadletter")}
    out = {}
    for name, tmd in md.topics.items():
        table = name[len(args.prefix) + 1:]
        if name.startswith(args.prefix + ".") and name not in own and "." not in table:
            out[name] = sorted(tmd.partitions)
    return out


def quote(name):
    return '"' + name.replace('"', '""') + '"'


class Sink:
    """The JDBC sink's upsert and delete, one PostgreSQL table per topic."""

    def __init__(self, conn):
        self.conn = conn
        self.tables = {}  # table -> (pk columns, value columns)
        self.plain = {}  # table -> columns only ever seen as str or int values
        self.typed = {}  # table -> columns seen with another type
        self.local = {}  # table -> columns decoded as datetimes without zone (calendar dates)
        self.instant = {}  # table -> columns decoded as UTC instants

    def ensure(self, table, pk, columns):
        if table in self.tables:
            return
        cols = list(pk) + [c for c in columns if c not in pk]
        self.conn.execute("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))" % (
            quote(table), ", ".join("%s text" % quote(c) for c in cols), ", ".join(quote(c) for c in pk)))
        self.tables[table] = (list(pk), cols)

    def upsert(self, table, key, after):
        pk, cols = self.tables[table]
        row = dict(after)
        row.update(key)
        for c, v in after.items():
            if v is not None and type(v) not in (str, int):
                self.typed.setdefault(table, set()).add(c)
            if isinstance(v, datetime.datetime):
                # As a JDBC sink stores them: a timestamp without zone is
                # the wall clock it came as, an instant is stored in UTC.
                (self.local if v.tzinfo is None else self.instant).setdefault(table, set()).add(c)
                row[c] = v.isoformat(sep=" ") if v.tzinfo is None else v.astimezone(datetime.timezone.utc).isoformat(sep=" ")
        self.plain[table] = set(cols) - self.typed.get(table, set())
        vals = [None if row.get(c) is None else str(row[c]) for c in cols]
        rest = [c for c in cols if c not in pk]
        self.conn.execute("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s" % (
            quote(table), ", ".join(quote(c) for c in cols), ", ".join(["%s"] * len(cols)),
            ", ".join(quote(c) for c in pk), ", ".join("%s = EXCLUDED.%s" % (quote(c), quote(c)) for c in rest)), vals)

    def delete(self, table, key):
        pk, _ = self.tables[table]
        self.conn.execute("DELETE FROM %s WHERE %s" % (quote(table), " AND ".join("%s = %%s" % quote(c) for c in pk)),
                          [str(key[c]) for c in pk])


def main():
    args = parse_args()
    topics = table_topics(args)
    decode = AvroDeserializer(SchemaRegistryClient({"url": args.registry, "timeout": 10}))
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "sragent-sink-%s" % uuid.uuid4().hex[:12],
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": "read_committed", "enable.partition.eof": True,
                         "enable.metrics.push": False})
    wm = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "sragent-sink-wm-%s" % uuid.uuid4().hex[:12],
                   "enable.metrics.push": False})
    high = {}
    for topic, pids in topics.items():
        for p in pids:
            low, hi = wm.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
            if hi > low:
                high[(topic, p)] = hi
    wm.close()
    conn = psycopg.connect(args.dsn, autocommit=True)
    for topic in topics:
        conn.execute("DROP TABLE IF EXISTS %s" % quote(topic[len(args.prefix) + 1:]))
    sink = Sink(conn)
    counts = {"markers": 0, "d dropped": 0, "tombstones": 0, "upserts": 0}
    keys_of = {}  # table -> key columns, from the first key seen
    consumer.assign([TopicPartition(t, p, 0) for (t, p) in high])
    deadline = time.monotonic() + args.timeout
    remaining = set(high)
    while remaining and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=500, timeout=0.5):
            err = msg.error()
            tp = (msg.topic(), msg.partition())
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF and tp in remaining and msg.offset() >= high[tp]:
                    remaining.discard(tp)
                continue
            if tp not in high or msg.offset() >= high[tp]:
                continue
            if any(h == MARKER_HEADER for h, _ in (msg.headers() or [])):
                counts["markers"] += 1  # Filter with HasHeaderKey sr.marker
                continue
            table = msg.topic()[len(args.prefix) + 1:]
            key = decode(msg.key(), SerializationContext(msg.topic(), MessageField.KEY))
            key = {k: v for k, v in key.items() if k != "table"}
            keys_of.setdefault(table, sorted(key))
            if msg.value() is None:
                if table in sink.tables:
                    sink.delete(table, key)
                counts["tombstones"] += 1
                continue
            value = decode(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
            if value["op"] == "d":
                counts["d dropped"] += 1  # ExtractNewRecordState: the tombstone does the delete
                continue
            sink.ensure(table, keys_of[table], list(value["after"].keys()))
            sink.upsert(table, key, value["after"])
            counts["upserts"] += 1
    consumer.close()
    if remaining:
        print("sink: FAIL %d partitions not read to their end within %.0fs" % (len(remaining), args.timeout))
        return 1
    print("sink: applied %s" % ", ".join("%s %d" % kv for kv in counts.items()))
    expected = json.load(open(args.expected))
    failed = compare(conn, sink, expected)
    return check_labels(conn, sink, expected) or failed


def check_labels(conn, sink, expected):
    """lists.labels: every <Column>_label of a column whose schema doc (in
    the checked-in schemas/avsc) says it holds SRMapping ids is the text
    srgen wrote for that id (srgen's SRMapping is the same full file in
    every batch), null for an empty id, one of 0 and below, or one
    SRMapping lacks."""
    mapping = {}
    for by_table in expected.values():
        for rid, row in by_table.get("SRMapping", {}).items():
            mapping[str(rid)] = row.get("Mapping") or None
    checked, bad = 0, []
    for table, (_, cols) in sorted(sink.tables.items()):
        labelled = [c[:-len("_label")] for c in cols if c.endswith("_label") and c[:-len("_label")] in cols]
        if not labelled:
            continue
        with open(os.path.join(os.path.dirname(__file__), "..", "schemas", "avsc", table + "-value.avsc")) as f:
            schema = json.load(f)
        value = next(f["type"][1] for f in schema["fields"] if f["name"] == "before")
        refs = {f["name"] for f in value["fields"] if f.get("doc") == "RowIdentifier of a row of SRMapping"}
        for col in labelled:
            if col not in refs:
                continue
            checked += 1
            for cell, label in conn.execute("SELECT %s, %s FROM %s" % (quote(col), quote(col + "_label"), quote(table))):
                want = mapping.get(cell) if cell and int(cell) > 0 else None
                if label != want:
                    bad.append("%s.%s_label" % (table, col))
                    break
    if checked == 0:
        print("sink: FAIL no SRMapping label columns to check (is lists.labels on?)")
        return 1
    if bad:
        print("sink: FAIL labels differ from srgen's SRMapping: %s" % ", ".join(bad))
        return 1
    print("sink: labels of %d SRMapping columns match srgen's SRMapping" % checked)
    return 0


def parse_cell(cell):
    """An SR date-time cell as a naive UK wall-clock datetime (None if empty)."""
    if not cell:
        return None
    for fmt in ("%d %b %Y %H:%M:%S", "%d %b %Y %H:%M"):
        try:
            return datetime.datetime.strptime(cell, fmt)
        except ValueError:
            pass
    return "unparsable"


def stored_time(stored, local):
    """A stored date-time: the wall clock as stored for a calendar date
    (no zone, no arithmetic), the UTC instant for an instant."""
    if stored is None:
        return None
    v = datetime.datetime.fromisoformat(stored)
    return v if local else v.astimezone(datetime.timezone.utc)


def expected_time(cell, local):
    """What srgen's cell must be stored as: its wall clock for a calendar
    date; for an instant, the UK wall-clock time read as schemas/README.md
    says (a time in the spring-forward gap with the offset before the
    change, a repeated autumn time as the earlier instant), which is
    Python's fold=0."""
    wall = parse_cell(cell)
    if wall is None or local or wall == "unparsable":
        return wall
    return wall.replace(tzinfo=LONDON, fold=0).astimezone(datetime.timezone.utc)


def compare(conn, sink, expected):
    ok = bad = 0
    tables = sorted({t for groups in expected.values() for t in groups})
    if not tables or not any(rows for groups in expected.values() for rows in groups.values()):
        print("sink: FAIL the expected state holds no rows: nothing would be compared")
        return 1
    for table in tables:
        pk = sink.tables[table][0] if table in sink.tables else ["RowIdentifier"]
        want = {}
        for by_table in expected.values():
            for rid, row in by_table.get(table, {}).items():
                if any(c not in row for c in pk):
                    raise SystemExit("sink: FAIL %s: the expected rows lack key columns %s" % (table, pk))
                want[tuple(row[c] for c in pk)] = row
        got = {}
        if table in sink.tables:
            cols = sink.tables[table][1]
            for rec in conn.execute("SELECT %s FROM %s" % (", ".join(quote(c) for c in cols), quote(table))):
                row = dict(zip(cols, rec))
                got[tuple(row[c] for c in pk)] = row
        problems = []
        if set(got) != set(want):
            problems.append("%d rows, srgen expects %d (%d missing, %d extra)" % (
                len(got), len(want), len(set(want) - set(got)), len(set(got) - set(want))))
        # Strings and longs are compared as srgen wrote them, date-times
        # below; other types (booleans, doubles) by the Go codec tests.
        plain = sink.plain.get(table, set())
        if table in sink.tables:
            missing = {c for row in want.values() for c in row} - set(sink.tables[table][1])
            if missing:
                problems.append("columns not in the sink: %s" % ", ".join(sorted(missing)))
        differ = {col for k in set(got) & set(want) for col, cell in want[k].items()
                  if col in plain and (got[k].get(col) or "") != cell}
        # Date-times: srgen wrote UK wall-clock cells. A calendar date
        # (decoded without zone) must be that wall clock as it is, its date
        # the UK calendar date; an instant must show it in UK time.
        local, instant = sink.local.get(table, set()), sink.instant.get(table, set())
        differ |= {col for k in set(got) & set(want) for col, cell in want[k].items()
                   if col in local | instant and stored_time(got[k].get(col), col in local) != expected_time(cell, col in local)}
        if differ:
            problems.append("columns differ: %s" % ", ".join(sorted(differ)))
        if problems:
            bad += 1
            print("sink: FAIL %s: %s" % (table, "; ".join(problems)))
        else:
            ok += 1
            print("sink: %-28s %d rows match srgen (%d calendar, %d instant columns)" % (
                table, len(got), len(local), len(instant)))
    print("sink: %d tables match, %d differ" % (ok, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
