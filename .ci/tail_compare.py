#!/usr/bin/env python3
"""`sragent tail` against Confluent's Python client: the same records, the same data.

For every topic sragent published under a prefix (tables, batches, dead
letters), runs `sragent tail TOPIC --from-beginning` and reads the topic
with confluent_kafka (read_committed, AvroDeserializer). Every record the
Python consumer reads must be printed once, at the same partition and
offset, with the same key and value: tail's Avro JSON encoding (unions as
{"type": value}, date-times as longs) is unwrapped, and Python's
datetimes are turned into the longs they were encoded as. Output names
topics, partitions, offsets and counts, never data. Exit code 1 on any
difference.

  "$py" .ci/tail_compare.py --bootstrap HOST:PORT --registry URL --prefix interop \\
      --sragent ./sragent --config sragent.yaml
"""
import argparse
import datetime
import json
import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

EPOCH = datetime.datetime(1970, 1, 1)
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string", "array", "map"}


def unwrap(v):
    """Avro JSON → plain data: a union's {"type": value} becomes value."""
    if isinstance(v, dict):
        if len(v) == 1:
            (k, inner), = v.items()
            if k in PRIMITIVES or "." in k:
                return unwrap(inner)
        return {k: unwrap(x) for k, x in v.items()}
    if isinstance(v, list):
        return [unwrap(x) for x in v]
    return v


def plain(v):
    """Python's decoding → the same plain data: datetimes as milliseconds."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:  # local-timestamp-millis: the wall clock as UTC
            return round((v - EPOCH).total_seconds() * 1000)
        return round(v.timestamp() * 1000)
    return v


def python_records(args, topic, decode):
    admin = AdminClient({"bootstrap.servers": args.bootstrap, "enable.metrics.push": False})
    parts = sorted(admin.list_topics(topic=topic, timeout=30).topics[topic].partitions)
    wm = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "tail-wm-" + uuid.uuid4().hex[:12], "enable.metrics.push": False})
    high = {}
    for p in parts:
        low, hi = wm.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
        if hi > low:
            high[p] = hi
    wm.close()
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "tail-" + uuid.uuid4().hex[:12],
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "enable.partition.eof": True, "enable.metrics.push": False})
    c.assign([TopicPartition(topic, p, 0) for p in high])
    out, remaining, deadline = {}, set(high), time.monotonic() + 60
    while remaining and time.monotonic() < deadline:
        for msg in c.consume(num_messages=500, timeout=0.5):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF and msg.offset() >= high.get(msg.partition(), 0):
                    remaining.discard(msg.partition())
                continue
            if msg.offset() >= high[msg.partition()]:
                continue
            out[(msg.partition(), msg.offset())] = (
                decode(msg.key(), topic, MessageField.KEY), decode(msg.value(), topic, MessageField.VALUE))
    c.close()
    if remaining:
        raise SystemExit("tail: FAIL %s: %d partitions not read to their end" % (topic, len(remaining)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for a in ("--bootstrap", "--registry", "--prefix", "--sragent", "--config"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    avro = AvroDeserializer(SchemaRegistryClient({"url": args.registry, "timeout": 10}))

    def decode(b, topic, field):
        if b is None:
            return None
        if b[:1] != b"\x00":  # the state topic: text keys, JSON values
            text = b.decode("utf-8")
            if field == MessageField.KEY:
                return text
            try:
                return json.loads(text)
            except ValueError:
                return text
        return plain(avro(b, SerializationContext(topic, field)))

    admin = AdminClient({"bootstrap.servers": args.bootstrap, "enable.metrics.push": False})
    topics = sorted(t for t in admin.list_topics(timeout=30).topics if t.startswith(args.prefix + "."))
    bad = 0
    for topic in topics:
        want = python_records(args, topic, decode)
        run = subprocess.run([args.sragent, "tail", topic, "--from-beginning", "--config", args.config],
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            print("tail: FAIL %s: exit %d: %s" % (topic, run.returncode, run.stderr.strip()[:300]))
            bad += 1
            continue
        got = {}
        for line in run.stdout.splitlines():
            rec = json.loads(line)
            pos = (rec["partition"], rec["offset"])
            if pos in got or rec.get("error"):
                got[pos] = None  # printed twice, or not decoded: differs
                continue
            got[pos] = (unwrap(rec["key"]), unwrap(rec["value"]))
        missing = set(want) - set(got)
        extra = set(got) - set(want)
        differ = [p for p in set(want) & set(got) if got[p] != want[p]]
        if missing or extra or differ:
            bad += 1
            first = sorted(differ)[:3]
            print("tail: FAIL %s: %d records, Python reads %d (%d missing, %d extra), %d differ (first at %s)" % (
                topic, len(got), len(want), len(missing), len(extra), len(differ), first))
        else:
            print("tail: %-36s %d records match the Python consumer" % (topic, len(want)))
    print("tail: %d topics match, %d differ" % (len(topics) - bad, bad))
    return 1 if bad or not topics else 0


if __name__ == "__main__":
    sys.exit(main())
