#!/usr/bin/python3
"""Interop check outside the Go toolchain.

Consumes every topic of a running `sragent demo --keep` with Confluent's
AvroConsumer (librdkafka + the Schema Registry, read_committed) and checks
that what a non-Go client decodes matches the counts the demo printed:
events, tombstones (null values) and snapshot markers (header sr.marker).
"""
import re
import sys
import time

from confluent_kafka import TopicPartition
from confluent_kafka.avro import AvroConsumer


def expected_counts(demo_output):
    counts = {}
    for line in demo_output.splitlines():
        m = re.match(r"^(systmone\.\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if m:
            counts[m.group(1)] = tuple(int(x) for x in m.group(2, 3, 4))
    return counts


def main():
    out = open(sys.argv[1], encoding="utf-8").read()
    broker = re.search(r"broker at (\S+),", out).group(1)
    registry = re.search(r"Schema Registry at (\S+)", out).group(1)
    want = expected_counts(out)
    if not want:
        print("interop: no topic summary in the demo output")
        return 1
    consumer = AvroConsumer({
        "bootstrap.servers": broker,
        "group.id": "sragent-interop",
        "schema.registry.url": registry,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe(list(want))
    got = {t: [0, 0, 0] for t in want}
    failures = []
    total = sum(sum(v) for v in want.values())
    seen = 0
    deadline = time.time() + 60
    while seen < total and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            failures.append("consume error: %s" % msg.error())
            break
        seen += 1
        topic, value = msg.topic(), msg.value()
        headers = dict(msg.headers() or [])
        key = msg.key()
        if not isinstance(key, dict):
            failures.append("%s: key did not decode to a record" % topic)
        if value is None:
            got[topic][1] += 1
        elif "sr.marker" in headers:
            got[topic][2] += 1
            if value.get("op") != "m" or value["marker"]["type"] != headers["sr.marker"].decode():
                failures.append("%s: marker value does not match its header" % topic)
        else:
            got[topic][0] += 1
            if topic.endswith((".batches", ".deadletter")):
                continue
            if value.get("op") not in ("r", "u", "d") or "source" not in value:
                failures.append("%s: value is not a change event" % topic)
            elif value["op"] != "d" and value["after"]["RowIdentifier"] is None and "Ctv3" not in topic:
                failures.append("%s: after without RowIdentifier" % topic)
    consumer.close()
    for topic, counts in sorted(want.items()):
        if tuple(got[topic]) != counts:
            failures.append("%s: decoded %s (events, tombstones, markers), demo published %s" % (topic, tuple(got[topic]), counts))
    for f in failures:
        print("interop: FAIL", f)
    print("interop: %d passed, %d failed" % (len(want) - len({f.split(":")[1] for f in failures if ":" in f}), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
