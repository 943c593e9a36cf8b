"""Provenance and resume: what an output records about how it was made.

An output is up to date when it records the same run parameters
(:class:`RunParams`: the model's id, revision and :func:`model_digest`, focus,
aggregate, segmentation) and the same input file (:func:`source_stamp`: size
and modification time) as the run about to make it again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor, TrackEmbedding

__all__ = ["RunParams", "dumps", "model_digest", "source_stamp"]


def model_digest(extractor: Extractor) -> str:
    """SHA-256 of the model's config and weights: two runs agree on it iff the model is the same."""
    h = hashlib.sha256(json.dumps(extractor.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(extractor.model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.view(-1).view(dtype=_byte_dtype()).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _byte_dtype() -> Any:
    import torch

    return torch.uint8


def source_stamp(path: str) -> dict[str, int] | None:
    """Size and modification time of an input file (``None`` when it cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def dumps(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): equal objects give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass
class RunParams:
    """Everything about a run that its outputs depend on.

    Attributes
    ----------
    extractor : Extractor
    focus : list of str
        Sub-spaces kept, in order.
    aggregate : {"mean", "none"}
    segment_seconds, hop_seconds : float [seconds]
    params : dict
        What an output records and resume compares: model id, revision and
        digest, focus, aggregate, segmentation (batch size, workers and device
        do not change results and are left out).
    """

    extractor: Extractor
    focus: list[str]
    aggregate: str
    segment_seconds: float
    hop_seconds: float
    params: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        ext = self.extractor
        self.params = {
            "model_id": ext.model_id,
            "model_revision": ext.revision,
            "model_sha256": model_digest(ext),
            "focus": self.focus,
            "aggregate": self.aggregate,
            "segment_seconds": self.segment_seconds,
            "hop_seconds": self.hop_seconds,
        }

    @property
    def params_json(self) -> str:
        """:attr:`params` as canonical JSON."""
        return dumps(self.params)

    def vectors(self, te: TrackEmbedding) -> np.ndarray:
        """The vectors this run keeps of a track: ``(d,)`` or ``(n_segments, d)`` float32."""
        if self.aggregate == "mean":
            return te.vector(self.focus)
        return te.segment_vectors(self.focus)
