"""Search speed, memory and recall on 1M synthetic 640-d track vectors (issue 13).

Vectors are shaped like real dumps: five 128-d sub-spaces, each L2-normalised, each
drawn from its own 1000 clusters (so tracks share a bass line but not their drums).
They are generated in blocks into a float32 ``.npy`` under OUT and indexed from
there memory-mapped, so 1M (2.6 GB of float32) builds in bounded memory. Queries
are stored tracks with noise added. Measures build time, size on disk, resident
memory, single-query latency (p50/p99) and batch throughput for exact and
approximate search (bass focus and the whole vector), recall@10 of approximate
against exact, the first queries of a fresh process (cold), the float16 storage's
score error, and a plain numpy float32 matmul on the same vectors in the same run
(the floor exact search is compared with).

    nice -n 5 python benchmarks/search.py --n 1000000 --out /tmp/search-bench

Results are printed as JSON (and written to OUT/results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from instsim.search import Dump, Index, Provenance

NAMES = ("drums", "bass", "piano", "guitar", "others")
D = 128
BLOCK = 65536


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def anon_mb() -> float:
    """Resident memory not backed by files (what a memory-mapped index does not count)."""
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def vectors(path: Path, n: int, seed: int) -> np.ndarray:
    """``(n, 640)`` float32 in ``path``, written ``BLOCK`` rows at a time; memory-mapped."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((5, 1000, D)).astype(np.float32)
    x = np.lib.format.open_memmap(path, "w+", np.float32, (n, 5 * D))
    for a in range(0, n, BLOCK):
        r = np.random.default_rng([seed, a])
        m = min(BLOCK, n - a)
        for s in range(5):
            block = centres[s][r.integers(0, 1000, m)]
            block += 0.7 * r.standard_normal((m, D), dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            x[a : a + m, s * D : (s + 1) * D] = block
    x.flush()
    del x
    return np.load(path, mmap_mode="r")


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


COLD = """
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from instsim.search import Index
index = Index.open(sys.argv[1])
q = np.load(sys.argv[2])
out = {"import_open_s": time.perf_counter() - t0}
for focus, label in (("bass", "bass"), (None, "all")):
    ms = []
    for i in range(5):
        t = time.perf_counter()
        index.search(q[i], focus=focus, k=10)
        ms.append(1e3 * (time.perf_counter() - t))
    out[label] = ms
print(json.dumps(out))
"""


def cold(index_dir: Path, queries: np.ndarray, out: Path) -> dict:
    """The first five approximate queries per focus of a fresh process (page cache warm).

    The very first query also reads the id table (``ids.jsonl``) and the faiss files'
    headers; the bass queries come first, so the whole-vector ones find those read."""
    np.save(out / "cold-queries.npy", queries[-5:])
    r = subprocess.run(
        [sys.executable, "-c", COLD, str(index_dir), str(out / "cold-queries.npy")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--out", default="/tmp/search-bench")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    res: dict[str, object] = {
        "n": args.n, "dim": 5 * D, "cores": len(os.sched_getaffinity(0)),
        "load_average_start": os.getloadavg(),
    }  # fmt: skip

    t = time.perf_counter()
    x = vectors(out / "source.npy", args.n, seed=0)
    res["generate_s"] = time.perf_counter() - t
    rng = np.random.default_rng(1)
    own = rng.choice(args.n, args.queries, replace=False)
    q = x[np.sort(own)] + (0.3 / np.sqrt(D)) * rng.standard_normal(
        (args.queries, 5 * D), np.float32
    )
    q = np.ascontiguousarray(q, np.float32)
    prov = Provenance("bench", "", "0" * 64, NAMES, D)
    paths = [f"t{i:07d}.flac" for i in range(args.n)]
    dump = Dump("bench.parquet", x, paths, paths, prov)

    t = time.perf_counter()
    Index.build([dump], out / "index", approximate=True)
    res["build_s"] = time.perf_counter() - t
    res["build_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del dump, paths
    files = [f for f in (out / "index").rglob("*") if f.is_file()]
    res["disk_mb"] = sum(f.stat().st_size for f in files) / 2**20
    res["disk_mb_by_file"] = {f.name: round(f.stat().st_size / 2**20, 1) for f in files}

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
        xb = np.ascontiguousarray(x[:, cols]) if focus == "bass" else x  # x: contiguous
        qb = q[:, cols]

        def numpy_top(qq, xb=xb):
            s = xb @ qq
            return np.argpartition(-s, 10)[:10]

        numpy_top(qb[0])  # page in
        base = latency(numpy_top, qb[:50])
        search(focus, True)(q[0])
        exact_l = latency(search(focus, True), q[:50])
        search(focus, False)(q[0])
        approx_l = latency(search(focus, False), q)
        t = time.perf_counter()
        ex = search(focus, True)(q).rows  # a batch: blocked numpy matmul
        exact_qps = len(q) / (time.perf_counter() - t)
        t = time.perf_counter()
        ap_ = search(focus, False)(q).rows
        approx_qps = len(q) / (time.perf_counter() - t)
        res[label] = {
            "numpy_matmul_float32": base,
            "exact": {**exact_l, "batch_qps": exact_qps},
            "approximate": {**approx_l, "batch_qps": approx_qps},
            "exact_vs_numpy_p50": exact_l["p50_ms"] / base["p50_ms"],
            "recall_at_10_approx_vs_exact": recall(ap_, ex),
        }
        # float16 storage against float32 vectors: same top 10? how far off are scores?
        sub = slice(0, min(args.n, 100_000))
        q32 = q[:50, cols]
        x32 = np.asarray(x[sub, cols], np.float32)
        truth = np.argsort(-(x32 @ q32.T), axis=0)[:10].T
        x16 = np.asarray(index.vectors[sub, cols], np.float32)
        got = np.argsort(-(x16 @ q32.T), axis=0)[:10].T
        err = np.abs((x16 - x32) @ q32.T) / (cols.stop - cols.start) * D
        res[label]["float16_recall_at_10_on_100k"] = recall(got, truth)
        res[label]["float16_max_abs_score_error"] = float(err.max())
        del xb, x32, x16
    res["anon_rss_mb_after_queries"] = anon_mb() - anon0
    res["rss_mb_after_queries"] = rss_mb() - rss0
    res["cold_first_queries_ms"] = cold(out / "index", q, out)
    res["load_average_end"] = os.getloadavg()
    res["command"] = f"nice -n 5 python benchmarks/search.py --n {args.n} --out {args.out}"
    (out / "results.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    del x
    shutil.rmtree(out / "index", ignore_errors=True)
    (out / "source.npy").unlink()


if __name__ == "__main__":
    main()
