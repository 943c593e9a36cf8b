"""Search speed, memory and recall on 1M synthetic 640-d track vectors (issue 13).

Vectors are shaped like real dumps: five 128-d sub-spaces, each L2-normalised, each
drawn from its own 1000 clusters (so tracks share a bass line but not their drums).
Queries are stored tracks with noise added. Measures build time, size on disk,
resident memory, single-query latency (p50/p99) and batch throughput for exact and
approximate search, recall@10 of approximate against exact, and the float16
storage's score error, plus a plain numpy matmul on the same vectors for reference.

    nice -n 10 python benchmarks/search.py --n 1000000 --out /tmp/search-bench

Results are printed as JSON (and written to OUT/results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from instsim.search import Dump, Index, Provenance

NAMES = ("drums", "bass", "piano", "guitar", "others")
D = 128


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def anon_mb() -> float:
    """Resident memory not backed by files (what a memory-mapped index does not count)."""
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((n, 5 * D), np.float32)
    for s in range(5):
        centres = rng.standard_normal((1000, D)).astype(np.float32)
        block = centres[rng.integers(0, 1000, n)]
        block += 0.7 * rng.standard_normal((n, D), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        x[:, s * D : (s + 1) * D] = block
    return x


def latency(fn, queries: np.ndarray) -> dict[str, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t)
    ms = 1e3 * np.asarray(times)
    return {"p50_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99))}


def throughput(fn, queries: np.ndarray) -> float:
    t = time.perf_counter()
    fn(queries)
    return len(queries) / (time.perf_counter() - t)


def recall(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / len(y) for x, y in zip(a, b)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default="/tmp/search-bench")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    res: dict[str, object] = {"n": args.n, "dim": 5 * D, "cores": len(os.sched_getaffinity(0))}

    x = vectors(args.n, seed=0)
    rng = np.random.default_rng(1)
    own = rng.choice(args.n, args.queries, replace=False)
    q = x[own] + (0.3 / np.sqrt(D)) * rng.standard_normal((args.queries, 5 * D), np.float32)
    prov = Provenance("bench", "", "0" * 64, NAMES, D)
    paths = [f"t{i:07d}.flac" for i in range(args.n)]
    dump = Dump("bench.parquet", x, paths, paths, prov)

    t = time.perf_counter()
    Index.build([dump], out / "index", approximate=True)
    res["build_s"] = time.perf_counter() - t
    del dump
    res["disk_mb"] = (
        sum(f.stat().st_size for f in (out / "index").rglob("*") if f.is_file()) / 2**20
    )

    anon0, rss0 = anon_mb(), rss_mb()
    t = time.perf_counter()
    index = Index.open(out / "index")
    res["open_s"] = time.perf_counter() - t
    res["open_rss_mb"] = rss_mb() - rss0
    res["manifest_approximate"] = index.manifest["approximate"]

    def search(focus, exact):
        return lambda qq: index.search(qq, focus=focus, k=10, exact=exact)

    for focus, label in (("bass", "bass"), (None, "all")):
        cols = slice(D, 2 * D) if focus == "bass" else slice(0, 5 * D)
        xb = np.ascontiguousarray(x[:, cols])
        qb = q[:, cols]

        def numpy_top(qq, xb=xb):
            s = xb @ qq
            return np.argpartition(-s, 10)[:10]

        base = latency(numpy_top, qb[:50])
        exact_l = latency(search(focus, True), q[:50])
        approx_l = latency(search(focus, False), q)
        ex = search(focus, True)(q).rows
        ap_ = search(focus, False)(q).rows
        res[label] = {
            "numpy_matmul_float32": base,
            "exact": {**exact_l, "batch_qps": throughput(search(focus, True), q[:50])},
            "approximate": {**approx_l, "batch_qps": throughput(search(focus, False), q)},
            "exact_vs_numpy_p50": exact_l["p50_ms"] / base["p50_ms"],
            "recall_at_10_approx_vs_exact": recall(ap_, ex),
        }
        # float16 storage against float32 vectors: same top 10? how far off are scores?
        sub = slice(0, 100_000)
        q32 = q[:50, cols]
        truth = np.argsort(-(x[sub, cols] @ q32.T), axis=0)[:10].T
        x16 = np.asarray(index.vectors[sub, cols], np.float32)
        got = np.argsort(-(x16 @ q32.T), axis=0)[:10].T
        err = np.abs((x16 - x[sub, cols]) @ q32.T) / (cols.stop - cols.start) * D
        res[label]["float16_recall_at_10_on_100k"] = recall(got, truth)
        res[label]["float16_max_abs_score_error"] = float(err.max())
        del xb
    res["anon_rss_mb_after_queries"] = anon_mb() - anon0
    res["rss_mb_after_queries"] = rss_mb() - rss0
    res["command"] = f"nice -n 10 python benchmarks/search.py --n {args.n} --out {args.out}"
    (out / "results.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    shutil.rmtree(out / "index", ignore_errors=True)


if __name__ == "__main__":
    main()
