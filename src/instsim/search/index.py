"""``Index``: search feature dumps by instrument, on FAISS.

An index holds one exact FAISS index per sub-space and one for the whole vector
(the average of the sub-space cosines), plus, above ``APPROX_THRESHOLD`` tracks,
approximate per-sub-space IVF lists of whole-vector codes, calibrated against exact
search (:mod:`instsim.search.backend`). The vectors themselves are kept
memory-mapped (``vectors.npy``); every result is rescored from them, so a score is
always the exact mean cosine over the focused sub-spaces. The folder layout and
its atomic updates are described in :mod:`instsim.search.layout`. Index format 1
(whole-block IVF indexes) is still read; ``add`` rewrites it as format 2.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validate
from ..errors import (
    ConfigError,
    DumpError,
    ModelMismatchError,
    SearchIndexError,
    UnknownInstrumentError,
)
from . import backend
from .dumps import Dump, Provenance, find_dumps, read_dump
from .layout import commit, new_generation, read_manifest, writer_lock
from .query import normalise, resolve
from .results import SearchResults

if TYPE_CHECKING:  # pragma: no cover
    from ..extractor import Extractor

__all__ = ["APPROX_THRESHOLD", "DTYPES", "Index"]

#: above this many tracks, ``approximate="auto"`` builds IVF indexes (docs/performance.md)
APPROX_THRESHOLD = 100_000
DTYPES = ("float16", "float32")
_WHOLE = "whole"
_BUNDLED_ID = "instsim/default"
_CHUNK = 65536
#: ``manifest["approximate"]["method"]`` of format 2 and of format 1
METHOD = "ivf_subspace_sq8"
_METHOD_V1 = "ivf_sq8"

DumpsArg = str | os.PathLike | Dump | Iterable[str | os.PathLike | Dump]


def _load_dumps(dumps: DumpsArg) -> list[Dump]:
    items = [dumps] if isinstance(dumps, (str, os.PathLike, Dump)) else list(dumps)
    files = [x for x in items if not isinstance(x, Dump)]
    out = [x for x in items if isinstance(x, Dump)]
    out += [read_dump(f) for f in find_dumps(files)]
    if not out:
        raise DumpError(", ".join(map(str, files)) or "<none>", "no .npz or .parquet dump found")
    return out


def _common_provenance(dumps: Sequence[Dump]) -> Provenance:
    first = dumps[0]
    for d in dumps[1:]:
        first.provenance.check_same(d.provenance, f"dump {first.file!r}", f"dump {d.file!r}")
    return first.provenance


def _key(path: str) -> str:
    return os.path.normpath(path)


class Index:
    """A search index folder, opened read-only (vectors and exact indexes memory-mapped).

    Build one with :meth:`build` (or ``instsim index``), open it with :meth:`open`.

    Examples
    --------
    >>> import instsim
    >>> index = instsim.Index.build(["features/"], "my-index")  # doctest: +SKIP
    >>> res = index.search("music/song.flac", focus="bass", k=10)  # doctest: +SKIP
    >>> res.paths, res.scores, res.per_subspace["drums"]  # doctest: +SKIP
    """

    def __init__(self, directory: Path, manifest: dict[str, Any], data: Path) -> None:
        self.directory = directory
        self.manifest = manifest
        self._data = data
        self.provenance = Provenance.from_dict(manifest)
        self.instruments = self.provenance.instruments
        self.subspace_dim = self.provenance.subspace_dim
        self.dim = self.provenance.dim
        self._count = int(manifest["count"])
        self._faiss: dict[str, Any] = {}
        self._ids: list[dict[str, str]] | None = None
        self._id_buf: np.ndarray | None = None
        self._id_ends: np.ndarray | None = None
        self._rows: dict[str, int] | None = None
        self._extractor: Extractor | None = None
        path = data / "vectors.npy"
        try:
            self.vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise SearchIndexError(
                directory, f"{path.name} is truncated or corrupt ({exc})"
            ) from None
        if self.vectors.shape != (self._count, self.dim) or str(self.vectors.dtype) not in DTYPES:
            raise SearchIndexError(
                directory,
                f"{path.name} holds {self.vectors.shape} {self.vectors.dtype}; the manifest "
                f"says ({self._count}, {self.dim}) {'/'.join(DTYPES)}",
            )

    # ---- opening and building ---------------------------------------------------------
    @classmethod
    def open(cls, directory: str | os.PathLike) -> Index:
        """Open an index folder; reads the manifest and maps the vectors, nothing more.

        Raises
        ------
        SearchIndexError
            Missing, empty, corrupt, truncated or of a newer format.
        MissingExtraError
            faiss is not installed (``pip install 'instsim[search]'``).
        """
        backend.faiss("instsim.Index")
        try:
            manifest, data = read_manifest(directory)
            return cls(Path(directory), manifest, data)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SearchIndexError):
                raise
            raise SearchIndexError(directory, f"its manifest is incomplete ({exc!r})") from None

    @classmethod
    def build(
        cls,
        dumps: DumpsArg,
        directory: str | os.PathLike,
        *,
        approximate: bool | None = None,
        dtype: str = "float16",
    ) -> Index:
        """Index feature dumps into ``directory`` (replacing any index there, atomically).

        Parameters
        ----------
        dumps : path, Dump or iterable of them
            ``.npz``/``.parquet`` files written by ``instsim extract``, or folders holding them.
        directory : path
            The index folder (created if needed).
        approximate : bool or None
            Also build approximate IVF indexes; ``None``: above ``APPROX_THRESHOLD`` tracks.
        dtype : {"float16", "float32"}
            How vectors are stored (float16 halves disk and memory; see docs/search.md).

        Raises
        ------
        DumpError, ModelMismatchError, MissingExtraError
        """
        backend.faiss("instsim.Index")
        if dtype not in DTYPES:
            raise ConfigError("dtype", f"got {dtype!r}; valid: {', '.join(map(repr, DTYPES))}")
        loaded = _load_dumps(dumps)
        prov = _common_provenance(loaded)
        pieces, ids = _dedupe([(d.vectors, None, True) for d in loaded], _ids_of(loaded))
        _write(Path(directory), prov, pieces, ids, dtype=dtype, approximate=approximate)
        return cls.open(directory)

    def add(self, dumps: DumpsArg) -> Index:
        """Add dumps to this index; a track already indexed (same path) is replaced.

        Old dumps are not read again and trained IVF centroids are kept (until the
        index grows four-fold); ``nprobe`` and ``k_factor`` are calibrated again. A
        format-1 index is rewritten in format 2 (its approximate lists retrained).
        Returns the updated index (``self`` is reloaded).
        """
        loaded = _load_dumps(dumps)
        for d in loaded:
            self.provenance.check_same(d.provenance, f"index {str(self.directory)!r}", d.file)
        new_ids = _ids_of(loaded)
        replaced = {_key(i["path"]) for i in new_ids}
        keep = np.array(
            [r for r, i in enumerate(self.ids) if _key(i["path"]) not in replaced], np.int64
        )
        pieces = [(self.vectors, keep, False)] + [(d.vectors, None, True) for d in loaded]
        pieces, ids = _dedupe(pieces, [self.ids[r] for r in keep] + new_ids)
        approx = self.manifest.get("approximate")
        reuse = approx and approx.get("method") == METHOD and approx["trained_on"] * 4 >= len(ids)
        previous = self if reuse else None
        _write(
            self.directory,
            self.provenance,
            pieces,
            ids,
            dtype=str(self.vectors.dtype),
            approximate=True if approx else None,
            previous=previous,
        )
        fresh = Index.open(self.directory)
        self.__dict__.update(fresh.__dict__)
        return self

    # ---- what is inside -----------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        mode = "approximate" if self.approximate else "exact"
        return (
            f"Index({str(self.directory)!r}, tracks={self._count}, "
            f"instruments={list(self.instruments)}, {mode})"
        )

    @property
    def approximate(self) -> bool:
        return bool(self.manifest.get("approximate"))

    @property
    def format_version(self) -> int:
        """The index format of the folder (2 is written; 1 is still read)."""
        return int(self.manifest["format_version"])

    @property
    def ids(self) -> list[dict[str, str]]:
        """Row -> ``{"path", "relpath", "dump"}`` (read on first use)."""
        if self._ids is None:
            path = self._data / "ids.jsonl"
            try:  # one JSON array: half the time of a json.loads per line
                text = path.read_bytes()
                ids = json.loads(b"[" + text.rstrip(b"\n").replace(b"\n", b",") + b"]")
            except (OSError, ValueError) as exc:
                raise SearchIndexError(
                    self.directory, f"{path.name} is unreadable ({exc})"
                ) from None
            if len(ids) != self._count:
                raise SearchIndexError(
                    self.directory, f"{path.name} has {len(ids)} rows, expected {self._count}"
                )
            self._ids = ids
        return self._ids

    def _ids_at(self, rows: np.ndarray) -> dict[int, dict[str, str]]:
        """The id records of ``rows`` (-1 skipped), without parsing the whole id table:
        its line ends are found once (a byte scan of the memory-mapped file)."""
        if self._ids is not None:
            return {int(r): self._ids[r] for r in np.unique(rows) if r >= 0}
        path = self._data / "ids.jsonl"
        try:
            if self._id_ends is None:
                buf = np.memmap(path, np.uint8, mode="r") if self._count else np.zeros(0, np.uint8)
                ends = np.flatnonzero(buf == 10)
                if len(ends) != self._count:
                    raise SearchIndexError(
                        self.directory, f"{path.name} has {len(ends)} rows, expected {self._count}"
                    )
                self._id_buf, self._id_ends = buf, ends
            buf, ends = self._id_buf, self._id_ends
            return {
                int(r): json.loads(bytes(buf[(ends[r - 1] + 1 if r else 0) : ends[r]]))
                for r in np.unique(rows)
                if r >= 0
            }
        except (OSError, ValueError) as exc:
            raise SearchIndexError(self.directory, f"{path.name} is unreadable ({exc})") from None

    def row_of(self, path: str | os.PathLike) -> int | None:
        """The row of an indexed audio path (or of the dump file it came from), or None."""
        if self._rows is None:
            rows: dict[str, int] = {}
            for r, i in enumerate(self.ids):
                for p in (i["path"], i.get("dump") or ""):
                    if p:
                        rows.setdefault(_key(p), r)
                        rows.setdefault(os.path.abspath(p), r)
            self._rows = rows
        p = str(path)
        return self._rows.get(_key(p), self._rows.get(os.path.abspath(p)))

    def _index(self, kind: str, key: str) -> Any:
        name = f"{kind}-{key}.faiss"
        if name not in self._faiss:
            path = self._data / name
            try:
                index = backend.read(str(path), kind)
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[-1][:200]
                raise SearchIndexError(
                    self.directory, f"{name} is missing or corrupt ({first})"
                ) from None
            if index.ntotal != self._count:
                raise SearchIndexError(
                    self.directory, f"{name} holds {index.ntotal} vectors, expected {self._count}"
                )
            self._faiss[name] = index
        return self._faiss[name]

    # ---- queries ------------------------------------------------------------------------
    def extractor(self) -> Extractor:
        """The index's model (loaded once), for embedding audio queries."""
        if self._extractor is None:
            from ..extractor import Extractor

            p = self.provenance
            name = None if p.model_id == _BUNDLED_ID else p.model_id  # as hub.load_model names it
            ext = Extractor.from_pretrained(name, revision=p.model_revision or None)
            self.check_extractor(ext)
            self._extractor = ext
        return self._extractor

    def check_extractor(self, ext: Extractor) -> None:
        """Raise :class:`ModelMismatchError` unless ``ext`` is the model the index was built with."""
        from ..batch import model_digest

        digest = model_digest(ext)
        if digest != self.provenance.model_sha256:
            p = self.provenance
            raise ModelMismatchError(
                f"the query model {ext.model_id!r} (sha256 {digest[:12]}) is not the index's "
                f"model {p.model_id!r} (revision {p.model_revision or '-'}, sha256 "
                f"{p.model_sha256[:12]}); embed queries with the index's model"
            )

    def search(
        self,
        query: Any,
        focus: str | Sequence[str] | None = None,
        k: int = 10,
        *,
        include_self: bool = False,
        exact: bool = False,
        extractor: Extractor | None = None,
    ) -> SearchResults:
        """The ``k`` nearest tracks of ``query`` on the ``focus`` sub-spaces.

        Parameters
        ----------
        query : np.ndarray [shape=(dim,) or (n_queries, dim)], TrackEmbedding or path
            Full vectors (each sub-space is normalised here); or a path: an indexed audio
            path, a dump file (``.npz``/``.parquet``; its model must be the index's), or an
            audio file, embedded with the index's model (or ``extractor``, which must be it).
        focus : str, sequence of str or None
            Sub-space(s) to compare; several are averaged as ``Extractor.similarity`` does.
            ``None``: all of them.
        k : int > 0
        include_self : bool
            Keep the query's own row when the query is in the index.
        exact : bool
            Search the exact indexes even when approximate ones exist.

        Returns
        -------
        SearchResults
            1-D fields for one query, ``(n_queries, k)`` for several.

        Raises
        ------
        UnknownInstrumentError, ConfigError, ModelMismatchError, DumpError, AudioDecodeError
        """
        names = self._focus(focus)
        _validate.positive_int("k", k)
        q = resolve(self, query, extractor)
        subs = [self.instruments.index(n) for n in names]
        own = [set() if include_self else rows for rows in q.own_rows]
        kk = min(self._count, int(k) + max((len(o) for o in own), default=0))
        cand = self._candidates(q.vectors, subs, kk, exact)
        rows, per = self._rescore(q.vectors, cand, subs)
        out_rows = np.full((len(rows), int(k)), -1, np.int64)
        out_per = np.full((len(rows), int(k), len(self.instruments)), np.nan, np.float32)
        for i, (r, o) in enumerate(zip(rows, own)):
            keep = np.flatnonzero((r >= 0) & ~np.isin(r, list(o)))[: int(k)]
            out_rows[i, : len(keep)] = r[keep]
            out_per[i, : len(keep)] = per[i, keep]
        return self._results(out_rows, out_per, names, int(k), q.label, q.single)

    def _focus(self, focus: str | Sequence[str] | None) -> list[str]:
        names = list(self.instruments) if focus is None else [focus] if isinstance(focus, str) else list(focus)  # fmt: skip
        if not names:
            raise UnknownInstrumentError("<empty focus>", self.instruments)
        for n in names:
            if n not in self.instruments:
                raise UnknownInstrumentError(n, self.instruments)
        return list(dict.fromkeys(names))

    def _cols(self, sub: int) -> slice:
        return slice(sub * self.subspace_dim, (sub + 1) * self.subspace_dim)

    def _candidates(self, q: np.ndarray, subs: list[int], kk: int, exact: bool) -> np.ndarray:
        approx = self.manifest.get("approximate") if not exact else None
        if not approx:
            return self._exact_candidates(q, subs, kk)
        if approx.get("method") == METHOD:
            return self._approx_candidates(q, subs, kk, approx)
        if approx.get("method") == _METHOD_V1:
            return self._candidates_v1(q, subs, kk, approx)
        raise SearchIndexError(
            self.directory,
            f"its approximate method {approx.get('method')!r} is unknown (valid: "
            f"{METHOD!r}, {_METHOD_V1!r}); search with exact=True (--exact) or rebuild it",
        )

    def _exact_candidates(self, q: np.ndarray, subs: list[int], kk: int) -> np.ndarray:
        """Exact top ``kk``: faiss flat for a few queries (one thread for one), a blocked
        BLAS matmul over the memory-mapped vectors for ``backend.BATCH_MIN`` or more."""
        if len(q) >= backend.BATCH_MIN:
            return backend.exact_topk(self.vectors, q, [subs], self.subspace_dim, kk)[0]
        if len(subs) == 1:
            key, qb = str(subs[0]), q[:, self._cols(subs[0])]
        else:  # the whole-vector index, the query zero outside the focus
            key, qb = _WHOLE, self._masked(q, subs)
        with backend.threads(1 if len(q) == 1 else None):
            _, rows = self._index("flat", key).search(np.ascontiguousarray(qb), kk)
        return rows

    def _masked(self, q: np.ndarray, subs: list[int]) -> np.ndarray:
        if len(subs) == len(self.instruments):
            return np.ascontiguousarray(q, dtype=np.float32)
        out = np.zeros_like(q, dtype=np.float32)
        for s in subs:
            out[:, self._cols(s)] = q[:, self._cols(s)]
        return out

    def _approx_candidates(
        self, q: np.ndarray, subs: list[int], kk: int, approx: dict[str, Any]
    ) -> np.ndarray:
        """Format 2: each focused sub-space's lists probed, scored on the focus from the codes."""
        if len(subs) == 1:
            keys = [str(subs[0])]
        elif len(subs) == len(self.instruments):
            keys = [_WHOLE]
        else:  # several, not all: the most careful of the whole vector's and theirs
            keys = [_WHOLE] + [str(s) for s in subs]
        nprobe = max(int(approx["nprobe"][key]) for key in keys)
        factor = max(int(approx["k_factor"][key]) for key in keys)
        probes = [self._probe(s) for s in subs]
        with backend.threads(1 if len(q) == 1 else None):
            return backend.lists_candidates(probes, self._masked(q, subs), kk * factor, nprobe)

    def _probe(self, sub: int) -> tuple[Any, Any, slice]:
        """Sub-space ``sub``'s lists index, its coarse quantiser on the sub-space, its columns."""
        name = f"coarse-{sub}"
        if name not in self._faiss:
            self._faiss[name] = backend.coarse(self._index("lists", str(sub)), self._cols(sub))
        return self._index("lists", str(sub)), self._faiss[name], self._cols(sub)

    def _candidates_v1(
        self, q: np.ndarray, subs: list[int], kk: int, approx: dict[str, Any]
    ) -> np.ndarray:
        """Format 1: one IVF index per block; several sub-spaces: the union of theirs."""
        if len(subs) == 1:
            key, qb = str(subs[0]), q[:, self._cols(subs[0])]
        elif len(subs) == len(self.instruments):
            key, qb = _WHOLE, q
        else:
            parts = [self._candidates_v1(q, [s], kk, approx) for s in subs]
            return backend.dedupe(np.concatenate(parts, axis=1))
        ivf = self._index("ivf", key)
        return backend.ivf_candidates(ivf, qb, kk, approx["nprobe"][key])

    def _rescore(
        self, q: np.ndarray, cand: np.ndarray, subs: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates sorted by exact score (ties: lower row first), with per-sub-space cosines."""
        nq, m = cand.shape
        ns, d = len(self.instruments), self.subspace_dim
        valid = cand >= 0
        v = np.asarray(self.vectors[np.where(valid, cand, 0).ravel()], dtype=np.float32)
        per = np.einsum("qmjd,qjd->qmj", v.reshape(nq, m, ns, d), q.reshape(nq, ns, d))
        score = np.where(valid, per[..., subs].mean(axis=-1), -np.inf)
        order = np.lexsort((cand, -score), axis=-1)
        rows = np.where(valid, cand, -1)
        return np.take_along_axis(rows, order, 1), np.take_along_axis(per, order[..., None], 1)

    def _results(
        self,
        rows: np.ndarray,
        per: np.ndarray,
        names: list[str],
        k: int,
        label: str | None,
        single: bool,
    ) -> SearchResults:
        ids = self._ids_at(rows)
        paths = np.array([[ids[r]["path"] if r >= 0 else "" for r in q] for q in rows], object)
        rels = np.array([[ids[r]["relpath"] if r >= 0 else "" for r in q] for q in rows], object)
        subs = [self.instruments.index(n) for n in names]
        scores = per[..., subs].mean(axis=-1).astype(np.float32)
        per_sub = {n: per[..., j] for j, n in enumerate(self.instruments)}
        if single:
            rows, paths, rels, scores = rows[0], paths[0], rels[0], scores[0]
            per_sub = {n: v[0] for n, v in per_sub.items()}
        return SearchResults(names, k, rows, paths, rels, scores, per_sub, label)


# ---- writing ------------------------------------------------------------------------------
Piece = tuple[np.ndarray, "np.ndarray | None", bool]  # (vectors, rows or None: all, normalise)


def _ids_of(dumps: Sequence[Dump]) -> list[dict[str, str]]:
    return [
        {"path": p, "relpath": r, "dump": d.file}
        for d in dumps
        for p, r in zip(d.paths, d.relpaths)
    ]


def _dedupe(pieces: list[Piece], ids: list[dict[str, str]]) -> tuple[list[Piece], list[dict]]:
    """Keep the last row of each path (a re-extracted track replaces the older one)."""
    last = {_key(i["path"]): r for r, i in enumerate(ids)}
    if len(last) == len(ids):
        return pieces, ids
    keep = np.zeros(len(ids), bool)
    keep[list(last.values())] = True
    out, at = [], 0
    for vec, rows, norm in pieces:
        n = len(vec) if rows is None else len(rows)
        sel = np.flatnonzero(keep[at : at + n])
        out.append((vec, sel if rows is None else rows[sel], norm))
        at += n
    return out, [i for i, k in zip(ids, keep) if k]


def _write(
    root: Path,
    prov: Provenance,
    pieces: list[Piece],
    ids: list[dict[str, str]],
    *,
    dtype: str,
    approximate: bool | None,
    previous: Index | None = None,
) -> None:
    from .. import __version__

    n, ns = len(ids), len(prov.instruments)
    with writer_lock(root):
        stage = new_generation(root)
        vec = np.lib.format.open_memmap(stage / "vectors.npy", "w+", dtype, (n, prov.dim))
        at = 0
        for src, rows, norm in pieces:  # stored rows are copied as they are
            m = len(src) if rows is None else len(rows)
            for s in range(0, m, _CHUNK):
                block = src[s : s + _CHUNK] if rows is None else src[rows[s : s + _CHUNK]]
                vec[at : at + len(block)] = normalise(block, ns) if norm else block
                at += len(block)
        vec.flush()
        del vec
        vec = np.load(stage / "vectors.npy", mmap_mode="r")
        with open(stage / "ids.jsonl", "w", encoding="utf-8") as f:
            for i in ids:
                f.write(json.dumps(i, ensure_ascii=False) + "\n")
        blocks = {str(s): slice(s * prov.subspace_dim, (s + 1) * prov.subspace_dim) for s in range(ns)}  # fmt: skip
        blocks[_WHOLE] = slice(0, prov.dim)
        flats = {}
        for key, cols in blocks.items():
            flats[key] = backend.build_flat(lambda r, c=cols: vec[r, c], n, cols.stop - cols.start, dtype)  # fmt: skip
            backend.write(flats[key], str(stage / f"flat-{key}.faiss"))
        use = n > APPROX_THRESHOLD if approximate is None else approximate
        approx = _build_approx(stage, vec, prov.subspace_dim, previous) if use and n else None
        manifest = {
            "instsim_version": __version__,
            **prov.to_dict(),
            "count": n,
            "dtype": dtype,
            "exact": {"method": "flat_ip", "storage": dtype},
            "approximate": approx,
            "approx_threshold": APPROX_THRESHOLD,
        }
        commit(root, stage, manifest)


def _build_approx(stage: Path, vec: np.ndarray, d: int, previous: Index | None) -> dict[str, Any]:
    """Write ``lists-<i>.faiss`` for every sub-space and calibrate them; the manifest entry."""
    n, dim = vec.shape
    ns = dim // d
    old = previous.manifest["approximate"] if previous is not None else None
    nlist = int(old["nlist"]) if old else backend.nlist_for(n)
    train = np.sort(np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False))
    sample = np.asarray(vec[train], np.float32)
    sq = backend.sq_trained_of(previous._index("lists", "0")) if previous is not None else None
    lists = []
    for s in range(ns):
        cols = slice(s * d, (s + 1) * d)
        if previous is not None:
            centroids = backend.centroids_of(previous._index("lists", str(s)), cols)
        else:
            centroids = backend.train_centroids(sample[:, cols], nlist, seed=s)
        ix = backend.new_lists(dim, cols, centroids, sq, sample)
        if sq is None:  # one set of code ranges for every sub-space's lists
            sq = backend.sq_trained_of(ix)
        backend.fill_lists(ix, lambda r: vec[r], n, cols)
        path = str(stage / f"lists-{s}.faiss")
        backend.write(ix, path)
        del ix
        lists.append(backend.read(path, "lists"))  # mapped: the codes leave memory
    del sample
    pick = np.sort(
        np.random.default_rng(1).choice(n, min(n, backend.CALIBRATION_QUERIES), replace=False)
    )
    queries = np.asarray(vec[pick], np.float32)
    coarse = [backend.coarse(lists[s], slice(s * d, (s + 1) * d)) for s in range(ns)]
    groups = {str(s): [s] for s in range(ns)}
    groups[_WHOLE] = list(range(ns))
    truths = backend.exact_topk(vec, queries, list(groups.values()), d, 11)
    params: dict[str, dict[str, Any]] = {}
    for (key, subs), truth in zip(groups.items(), truths):
        masked = np.zeros_like(queries)
        for s in subs:
            masked[:, s * d : (s + 1) * d] = queries[:, s * d : (s + 1) * d]

        def exact_score(cand: np.ndarray, masked: np.ndarray = masked) -> np.ndarray:
            out = np.full(cand.shape, -np.inf, np.float32)
            for a in range(0, len(cand), 32):
                c = cand[a : a + 32]
                valid = c >= 0
                v = np.asarray(vec[np.where(valid, c, 0).ravel()], np.float32)
                sc = np.einsum("qmd,qd->qm", v.reshape(*c.shape, dim), masked[a : a + 32])
                out[a : a + 32] = np.where(valid, sc, -np.inf)
            return out

        probes = [(lists[s], coarse[s], slice(s * d, (s + 1) * d)) for s in subs]
        params[key] = backend.calibrate(probes, masked, pick, truth, exact_score, nlist)
    return {
        "method": METHOD,
        "nlist": nlist,
        "codes": "sq8 of the whole normalised vector, in the lists of every sub-space",
        "nprobe": {key: p["nprobe"] for key, p in params.items()},
        "k_factor": {key: p["k_factor"] for key, p in params.items()},
        "recall_at_10": {key: p["recall_at_10"] for key, p in params.items()},
        "recall_at_10_lower_95": {key: p["recall_at_10_lower_95"] for key, p in params.items()},
        "target_recall_at_10": backend.TARGET_RECALL,
        "confidence": 0.95,
        "calibration_queries": len(pick),
        "trained_on": int(old["trained_on"]) if old else n,
    }
