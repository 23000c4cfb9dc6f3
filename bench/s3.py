"""Object-storage benchmark: the explorer's profile of a 10M-row Parquet file on s3:// vs local.

Three sides, each in a fresh subprocess, on the same file (bench/explore.py's mixed schema):

- workbench on s3: ``profile`` (the explorer's two aggregate statements, sampled
  quartiles/top values/histograms as the profile says) of a lake dataset at
  ``s3://bench/big.parquet``, read by DuckDB's httpfs from the loopback S3 server;
- workbench local: the same profile of the same file on the local disk;
- pandas via s3fs: ``pd.read_parquet("s3://...", storage_options=...)`` then
  ``describe(include="all")`` and ``value_counts()`` of the text and boolean columns.

The server is moto's (tests/support/s3.py, credentials required), run in a process of
its own so it does not share a GIL with the client. Loopback is not a network: the
figures say what each side reads and computes, not what a WAN costs. Prints seconds,
peak RSS, the ratios and the load average (the box is shared: timings are noisy).
Usage: ``python bench/s3.py [--rows 10000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.explore import PROFILE, lake_config, make_table  # noqa: E402

OUT = ROOT / "bench" / "out" / "s3"

WORKBENCH = PROFILE + """\
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "rows": p.rows, "columns": len(p.table),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PANDAS = """
import json, resource, sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
import os
opts = json.loads(os.environ["BENCH_S3_OPTIONS"])  # from the environment: never in argv (ps shows argv)
df = pd.read_parquet(sys.argv[1], storage_options=opts)
d = df.describe(include="all")
counts = {c: df[c].value_counts() for c in ("s", "ns", "b")}
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "rows": len(df), "columns": df.shape[1],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str, env: dict) -> dict:
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    if res.returncode:
        sys.exit(f"benchmark side failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def config(path: Path, lake: str, data: str, s3: dict | None) -> Path:
    head = textwrap.dedent(f"""\
        [storage.s3]
        endpoint = "{s3['endpoint']}"
        region = "{s3['region']}"
        url_style = "path"
        key_id = "${{BENCH_S3_KEY_ID}}"
        secret = "${{BENCH_S3_SECRET}}"
        """) if s3 else ""
    return lake_config(path, lake, data, head)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--trials", type=int, default=1)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"big-{args.rows}.parquet"
    make_table(path, args.rows)
    print(f"table: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows)")

    server = subprocess.Popen([sys.executable, "-m", "tests.support.s3"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        s3 = json.loads(server.stdout.readline())
        import boto3

        client = boto3.client("s3", endpoint_url=s3["endpoint"], region_name=s3["region"],
                              aws_access_key_id=s3["key_id"], aws_secret_access_key=s3["secret"])
        client.create_bucket(Bucket="bench")
        t = time.perf_counter()
        client.upload_file(str(path), "bench", "big.parquet")
        print(f"uploaded to {s3['endpoint']} in {time.perf_counter() - t:.1f} s")
        env = {"BENCH_S3_KEY_ID": s3["key_id"], "BENCH_S3_SECRET": s3["secret"], "AWS_EC2_METADATA_DISABLED": "true"}
        remote_cfg = config(OUT / "remote.toml", "s3://bench", "s3://bench/big.parquet", s3)
        local_cfg = config(OUT / "local.toml", str(OUT), str(path), None)
        opts = json.dumps({"key": s3["key_id"], "secret": s3["secret"],
                           "client_kwargs": {"endpoint_url": s3["endpoint"], "region_name": s3["region"]}})
        load = os.getloadavg()[0]
        results: dict[str, list[dict]] = {"workbench s3": [], "workbench local": [], "pandas s3fs": []}
        for _ in range(args.trials):
            results["workbench local"].append(run(WORKBENCH, str(local_cfg), env=env))
            results["workbench s3"].append(run(WORKBENCH, str(remote_cfg), env=env))
            results["pandas s3fs"].append(run(PANDAS, "s3://bench/big.parquet", env={**env, "BENCH_S3_OPTIONS": opts}))
    finally:
        server.terminate()
        server.wait(30)
    print(f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} cores")
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    print(f"{'':18}{'profile s':>11}{'peak RSS MB':>13}{'rows':>12}")
    for name, r in best.items():
        print(f"{name:18}{r['seconds']:>11.2f}{r['peak_rss_mb']:>13.0f}{r['rows']:>12,}")
    wl, ws, ps = best["workbench local"], best["workbench s3"], best["pandas s3fs"]
    print(f"s3 / local: {ws['seconds'] / wl['seconds']:.2f}x the time; "
          f"pandas via s3fs / workbench on s3: {ps['seconds'] / ws['seconds']:.1f}x the time, "
          f"{ps['peak_rss_mb'] / ws['peak_rss_mb']:.1f}x the memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
