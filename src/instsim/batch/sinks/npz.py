"""The ``npz`` sink: one ``.npz`` per track, mirroring the inputs' relative paths."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..inputs import InputItem, safe_output_path
from ..provenance import RunParams, dumps
from ..staging import Staging
from . import register_sink

if TYPE_CHECKING:  # pragma: no cover
    from ...extractor import TrackEmbedding

__all__ = ["NpzSink", "write_npz"]


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays.

    ``np.savez`` stamps each member with the current time; fixed timestamps make
    reruns byte-identical. ``np.load`` reads the result as usual.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


@register_sink("npz")
class NpzSink:
    """One ``.npz`` per track, mirroring the inputs' relative paths."""

    suffix = ".npz"

    def __init__(self, outdir: Path, staging: Staging, run: RunParams) -> None:
        self.outdir, self.staging, self.run = outdir, staging, run

    @property
    def output(self) -> Path:
        return self.outdir

    def target(self, item: InputItem) -> Path:
        return safe_output_path(self.outdir, item.rel, self.suffix)

    def is_done(self, item: InputItem, stamp: dict[str, int] | None) -> bool:
        try:
            target = self.target(item)
            if stamp is None or not target.is_file():
                return False
            with np.load(target, allow_pickle=False) as f:
                same_params = str(f["params"]) == self.run.params_json
                return same_params and str(f["source_stat"]) == dumps(stamp)
        except Exception:  # unreadable, foreign or older file: redo it
            return False

    def write(self, item: InputItem, te: TrackEmbedding, stamp: dict[str, int] | None) -> None:
        from ... import __version__

        run, ext = self.run, self.run.extractor
        arrays = {
            "embedding": run.vectors(te),
            "timestamps": te.timestamps.astype(np.float64),
            "silent": te.silent.astype(bool),
            "instruments": np.array(run.focus, dtype=str),
            "duration": np.float64(te.duration),
            "model_id": np.array(ext.model_id),
            "model_revision": np.array(ext.revision or ""),
            "model_sha256": np.array(run.params["model_sha256"]),
            "sample_rate": np.int64(ext.sample_rate),
            "frontend": np.array(dumps(ext.config.frontend.to_dict())),
            "segment_seconds": np.float64(run.segment_seconds),
            "hop_seconds": np.float64(run.hop_seconds),
            "aggregate": np.array(run.aggregate),
            "subspace_dim": np.int64(ext.subspace_dim),
            "instsim_version": np.array(__version__),
            "source": np.array(item.path),
            "relpath": np.array(item.rel),
            "params": np.array(run.params_json),
            "source_stat": np.array(dumps(stamp)),
        }
        self.staging.write(self.target(item), lambda p: write_npz(p, arrays))

    def record(self, item: InputItem) -> None:
        """Inputs done or skipped, in order (only the parquet sink needs them)."""

    def finish(self) -> None:
        pass
