"""The ``parquet`` sink: one table for the run, ``OUTDIR/embeddings.parquet``.

Each finished track is first written as a part file in ``OUTDIR/.instsim/parts``
(the resume cache); at the end of the run the parts of this run's inputs are
merged, in input order, into the table (written to a temporary name, then
renamed). The table's metadata carries a digest of its parts, so a rerun that
changes nothing leaves its bytes alone. pyarrow is imported here only.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..inputs import InputItem
from ..provenance import RunParams, dumps
from ..staging import Staging
from . import register_sink

if TYPE_CHECKING:  # pragma: no cover
    from ...extractor import TrackEmbedding

__all__ = ["TABLE_NAME", "ParquetSink"]

TABLE_NAME = "embeddings.parquet"
_ROWS_PER_GROUP = 8192


@register_sink("parquet", needs=("pyarrow", "parquet"))
class ParquetSink:
    """Per-track part files in ``.instsim/parts``, merged into one table at the end."""

    def __init__(self, outdir: Path, staging: Staging, run: RunParams) -> None:
        import pyarrow as pa

        self.pa = pa
        self.outdir, self.staging, self.run = outdir, staging, run
        self.staging.parts.mkdir(parents=True, exist_ok=True)
        if run.aggregate == "mean":
            cols = [
                ("path", pa.string()),
                ("relpath", pa.string()),
                ("duration", pa.float64()),
                ("n_segments", pa.int32()),
                ("embedding", pa.list_(pa.float32())),
            ]
        else:
            cols = [
                ("path", pa.string()),
                ("relpath", pa.string()),
                ("segment", pa.int32()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("silent", pa.bool_()),
                ("embedding", pa.list_(pa.float32())),
            ]
        self.schema = pa.schema(cols)
        self._order = tempfile.TemporaryFile("w+", encoding="utf-8", dir=staging.tmp)

    @property
    def output(self) -> Path:
        return self.outdir / TABLE_NAME

    def _part(self, item: InputItem) -> Path:
        return self.staging.parts / (
            hashlib.sha256(item.rel.encode()).hexdigest()[:40] + ".parquet"
        )

    def _meta(self, item: InputItem, stamp: dict[str, int] | None) -> dict[bytes, bytes]:
        return {
            b"instsim.params": self.run.params_json.encode(),
            b"instsim.source_stat": dumps(stamp).encode(),
            b"instsim.relpath": item.rel.encode(),
        }

    def is_done(self, item: InputItem, stamp: dict[str, int] | None) -> bool:
        import pyarrow.parquet as pq

        part = self._part(item)
        if stamp is None or not part.is_file():
            return False
        try:
            meta = pq.read_schema(part).metadata or {}
        except Exception:
            return False
        return all(meta.get(k) == v for k, v in self._meta(item, stamp).items())

    def write(self, item: InputItem, te: TrackEmbedding, stamp: dict[str, int] | None) -> None:
        import pyarrow.parquet as pq

        pa = self.pa
        vec = np.atleast_2d(self.run.vectors(te)).astype(np.float32)
        n, d = vec.shape
        emb = pa.ListArray.from_arrays(
            pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32)), pa.array(vec.reshape(-1))
        )
        if self.run.aggregate == "mean":
            cols = [[item.path], [item.rel], [te.duration], [len(te.timestamps)], emb]
        else:
            cols = [
                [item.path] * n,
                [item.rel] * n,
                np.arange(n, dtype=np.int32),
                te.timestamps[:, 0],
                te.timestamps[:, 1],
                te.silent,
                emb,
            ]
        table = pa.Table.from_arrays(
            [
                pa.array(c, type=f.type) if not isinstance(c, pa.Array) else c
                for c, f in zip(cols, self.schema)
            ],
            schema=self.schema.with_metadata(self._meta(item, stamp)),
        )
        self.staging.write(self._part(item), lambda p: pq.write_table(table, p))

    def record(self, item: InputItem) -> None:
        self._order.write(self._part(item).name + "\t" + item.rel + "\n")

    def finish(self) -> None:
        """Merge this run's parts, in input order, into ``embeddings.parquet`` (atomically)."""
        import pyarrow.parquet as pq

        from ... import __version__

        pa, run, ext = self.pa, self.run, self.run.extractor

        def parts() -> Iterator[Path]:  # this run's parts, in input order
            self._order.seek(0)
            for line in self._order:
                yield self.staging.parts / line.split("\t", 1)[0]

        digest = hashlib.sha256()
        for part in parts():
            meta = pq.read_schema(part).metadata or {}
            for key in (b"instsim.relpath", b"instsim.params", b"instsim.source_stat"):
                digest.update(meta.get(key, b"") + b"\0")
        meta = {
            b"instsim": dumps(
                {
                    "instsim_version": __version__,
                    "model_id": ext.model_id,
                    "model_revision": ext.revision,
                    "model_sha256": run.params["model_sha256"],
                    "instruments": run.focus,
                    "subspace_dim": ext.subspace_dim,
                    "sample_rate": ext.sample_rate,
                    "frontend": ext.config.frontend.to_dict(),
                    "segment_seconds": run.segment_seconds,
                    "hop_seconds": run.hop_seconds,
                    "aggregate": run.aggregate,
                }
            ).encode(),
            b"instsim.digest": digest.hexdigest().encode(),
        }
        out = self.output
        if out.is_file():
            with contextlib.suppress(Exception):
                old = pq.read_schema(out).metadata or {}
                if old.get(b"instsim.digest") == meta[b"instsim.digest"]:
                    self._order.close()
                    return  # same inputs, same parts: the table is up to date
        schema = self.schema.with_metadata(meta)

        def merge(path: Path) -> None:
            with pq.ParquetWriter(path, schema) as writer:
                batch: list[Any] = []
                rows = 0
                for part in parts():
                    t = pq.read_table(part)
                    batch.append(t.replace_schema_metadata(meta))
                    rows += t.num_rows
                    if rows >= _ROWS_PER_GROUP:
                        writer.write_table(pa.concat_tables(batch))
                        batch, rows = [], 0
                if batch:
                    writer.write_table(pa.concat_tables(batch))

        try:
            self.staging.write(out, merge)
        finally:
            self._order.close()
