"""Benchmark: publishing a reports site to s3:// (the loopback moto server), first time vs again.

A reports folder of ``--runs`` synthetic run folders (the five files of a real run, a
report page of ``--page-kb``) is published with :func:`workbench.reports.remote.publish_site`
three times in this process, against the same server:

(a) the first publish: every object sent;
(b) again with nothing new: one listing, every object skipped by size + MD5;
(c) after one new run: the new run's objects, the index and the pointers.

Reported: wall time of each, objects sent, and (c)/(a) and (b)/(a) as ratios (the numbers
that matter do not depend on the machine: a publish after a run costs a listing and a
handful of PUTs, not the whole site).

    .venv/bin/python bench/publish_remote.py [--runs 200] [--page-kb 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_run(report_dir: Path, rid: str, page: bytes) -> None:
    d = report_dir / rid
    d.mkdir(parents=True)
    (d / "report.html").write_bytes(page)
    (d / "notebook.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    (d / "params.json").write_text(json.dumps({"run_id": rid}))
    (d / "values.jsonl").write_text('{"name": "n", "value": 1}\n')
    (d / "run.json").write_text(json.dumps({"status": "succeeded"}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--page-kb", type=int, default=200)
    args = ap.parse_args()

    from tests.support.s3 import S3Server
    from workbench.reports.publish import point_latest
    from workbench.reports.remote import publish_site
    from workbench.reports.runlog import RunLog
    from workbench.storage.remote import S3Options

    server = S3Server().start()
    try:
        server.client().create_bucket(Bucket="bench")
        opts = S3Options.from_values({k: v for k, v in server.settings().items()} | {"url_style": "path"}, env={})
        with tempfile.TemporaryDirectory() as tmp:
            reports = Path(tmp) / "reports"
            page = os.urandom(args.page_kb * 512).hex().encode()  # page-kb of text
            daily = reports / "daily"
            for i in range(args.runs):
                make_run(daily, f"20261101T{i:06d}-bench", page)
            point_latest(daily, f"20261101T{args.runs - 1:06d}-bench")
            (reports / "index.html").write_text("<a href='daily/latest.html'>daily</a>")
            log = RunLog(reports / "runlog.db")
            rows = []
            for label in ("first publish", "again, nothing new", "after one new run"):
                if label == "after one new run":
                    make_run(daily, "20261102T000000-bench", page)
                    point_latest(daily, "20261102T000000-bench")
                t = time.perf_counter()
                res = publish_site(reports, log, "s3://bench/site", opts)
                rows.append((label, time.perf_counter() - t, len(res.sent), res.skipped))
    finally:
        server.stop()
    base = rows[0][1]
    print(f"{args.runs} runs x 5 files, report page {args.page_kb} KB, loopback moto server")
    for label, secs, sent, skipped in rows:
        print(f"  {label:20s} {secs:7.2f} s  sent {sent:5d}  skipped {skipped:5d}  ({secs / base:.3f} of the first)")


if __name__ == "__main__":
    main()
