#!/usr/bin/env python3
"""Every panel query of the Grafana dashboard returns data from Prometheus.

Reads every target's PromQL from the dashboard JSON, asks Prometheus'
HTTP API (/api/v1/query, the standard library only) for it now, and
prints each panel with the number of series it returns. A query that
fails or returns no series is a failure: a panel that would show "No
data". Exit code 1 on any.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

# The key series drawn into --png: (panel title, PromQL, y label).
KEY = [
    ("Rows published /s by op", 'sum by (op) (rate(sragent_rows_published_total[15s]))', "rows/s"),
    ("Bytes read /s", 'sum by (group) (rate(sragent_read_bytes_total[15s]))', "bytes/s"),
    ("Pending batches", 'max by (group) (sragent_pending_batches)', "batches"),
    ("Resident memory (MiB)", 'process_resident_memory_bytes{job="sragent"} / 1048576', "MiB"),
]


def query_range(prom, expr, start, end):
    url = prom + "/api/v1/query_range?" + urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": 1})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)["data"]["result"]


def render(prom, seconds, png):
    """Draws KEY over the last seconds with gnuplot (pngcairo) into png."""
    end = time.time()
    start = end - seconds
    tmp = tempfile.mkdtemp()
    plots = []
    for i, (title, expr, ylabel) in enumerate(KEY):
        lines = []
        for j, series in enumerate(query_range(prom, expr, start, end)):
            name = ",".join("%s=%s" % kv for kv in sorted(series["metric"].items())) or title
            path = os.path.join(tmp, "%d_%d.tsv" % (i, j))
            with open(path, "w") as f:
                for t, v in series["values"]:
                    f.write("%.0f\t%s\n" % (float(t) - start, v))
            lines.append("'%s' using 1:2 with lines lw 2 title '%s'" % (path, name.replace("'", "")))
        plots.append("set title '%s'\nset ylabel '%s'\nplot %s" % (title, ylabel, ", ".join(lines) or "NaN notitle"))
    script = "set terminal pngcairo size 1200,800 font 'sans,9'\nset output '%s'\nset multiplot layout 2,2\n" \
             "set xlabel 'seconds'\nset key left top\n%s\nunset multiplot\n" % (png, "\n".join(plots))
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def targets(panels):
    for p in panels:
        yield from targets(p.get("panels", []))
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p.get("title", "?"), t["expr"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--png", help="also draw the key series of the last --seconds into this PNG (gnuplot)")
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    dash = json.load(open(args.dashboard))
    bad = total = 0
    for title, expr in targets(dash["panels"]):
        total += 1
        url = args.prometheus + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.load(r)
            series = body["data"]["result"] if body.get("status") == "success" else None
        except Exception as e:  # an HTTP error: the query does not parse
            series, why = None, str(e)
        else:
            why = body.get("error", "")
        if not series:
            bad += 1
            print("dashboard: FAIL %-40s %s: %s" % (title, expr, why or "no data"))
        else:
            print("dashboard: %-40s %d series  %s" % (title, len(series), expr))
    print("dashboard: %d of %d panel queries return data" % (total - bad, total))
    if args.png:
        render(args.prometheus, args.seconds, args.png)
        print("dashboard: key series drawn into %s" % args.png)
    return 1 if bad or not total else 0


if __name__ == "__main__":
    sys.exit(main())
