"""The ``slakh`` dataset plugin: Slakh2100 and any folder in its layout, through mirdata.

Reads a local copy of Slakh2100 (``slakh2100_flac_redux`` or the original
``slakh2100_flac`` release), babyslakh (``babyslakh_16k``), or any corpus
written in the same layout (such as instsim's synthetic corpus,
:mod:`instsim.data.synth`)::

    <root>/<split>/TrackNNNNN/mix.flac            split: train, validation, test, omitted
                             /stems/S00.flac ...  (.wav also accepted)
                             /MIDI/S00.mid ...
                             /all_src.mid
                             /metadata.yaml       Slakh's metadata (stems, programs, is_drum)
    <root>/TrackNNNNN/...                         babyslakh: no split folders

Loading goes through mirdata's slakh loader (its ``Dataset``, ``MultiTrack``,
``Track`` and its metadata parsing). mirdata 1.0 wants a *remote* index that
``.download()`` fetches into its own package folder; instsim never writes there
and never goes online. If mirdata's official index is already on disk and
matches the folder it is used (its md5 checksums come from the publishers);
otherwise an index is built from the folder itself, cached as JSON under
``<data_home>/.instsim/`` (or the user cache when ``data_home`` is read-only)
and handed to mirdata's ``Dataset`` in code. The cached index is rebuilt when
the folder's contents change.

Checksums: an index built from the folder stores ``md5 = None`` for every file,
because hashing ~100 GB of audio takes a long time. ``validate(checksums=True)``
hashes the files once and records the md5s in the cached index; later runs
check against those (they detect corruption *since that first run*; only the
official index can detect corruption relative to the published release).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from ...data.groups import group_of
from ...errors import DatasetError
from ...instruments import INSTRUMENTS
from . import Multitrack, MultitrackDataset, Progress, Stem, ValidationReport

__all__ = ["KNOWN_SIZES", "SPLITS", "VERSIONS", "SlakhDataset", "build_index"]

#: Split folder names mirdata's loader knows, in order.
SPLITS: tuple[str, ...] = ("train", "validation", "test", "omitted")

#: Versions: ``2100-redux`` (deduplicated release, 4 splits), ``2100`` (original
#: release, 3 splits), ``baby`` (babyslakh, no splits), ``folder`` (any folder in the layout).
VERSIONS: tuple[str, ...] = ("2100-redux", "2100", "baby", "folder")

#: Pieces per split in the published releases, to flag an incomplete copy.
KNOWN_SIZES: dict[str, dict[str, int]] = {
    "2100": {"train": 1500, "validation": 375, "test": 225},
    "2100-redux": {"test": 151},
    "baby": {"all": 20},
}

#: mirdata index versions we can hand an index to, by layout.
_MIRDATA_VERSION = {"splits": "2100-redux", "flat": "baby"}

_INDEX_FORMAT = 1
_AUDIO_EXTS = (".flac", ".wav")


# -- layout ---------------------------------------------------------------------
def _is_track_dir(p: Path) -> bool:
    return (
        p.is_dir()
        and not p.name.startswith(".")
        and ((p / "metadata.yaml").is_file() or p.name.startswith("Track"))
    )


def _layout_of(d: Path) -> str | None:
    if any((d / s).is_dir() for s in SPLITS):
        return "splits"
    try:
        if any(_is_track_dir(c) for c in d.iterdir()):
            return "flat"
    except OSError:
        return None
    return None


def _locate(data_home: Path, version: str | None) -> tuple[Path, str]:
    """Find the corpus root (the folder holding splits or track folders) and its layout."""
    if not data_home.exists():
        raise DatasetError(f"data home {str(data_home)!r} does not exist")
    if not data_home.is_dir():
        raise DatasetError(f"data home {str(data_home)!r} is not a folder")
    layout = _layout_of(data_home)
    if layout:
        return data_home, layout
    found = [
        (c, lay)
        for c in sorted(data_home.iterdir())
        if c.is_dir() and not c.name.startswith(".") and (lay := _layout_of(c))
    ]
    if len(found) > 1:
        preferred = {"2100-redux": "slakh2100_flac_redux", "baby": "babyslakh_16k"}.get(
            version or "2100-redux"
        )
        match = [f for f in found if f[0].name == preferred]
        if match:
            return match[0]
        raise DatasetError(
            f"{str(data_home)!r} holds several Slakh-layout folders "
            f"({', '.join(f[0].name for f in found)}); pass one of them as data_home"
        )
    if found:
        return found[0]
    raise DatasetError(
        f"no Slakh-layout folder in {str(data_home)!r}: expected split folders "
        f"({', '.join(SPLITS)}) holding TrackNNNNN folders, or TrackNNNNN folders directly "
        "(babyslakh), each with a metadata.yaml (see docs/data.md)"
    )


def _detect_version(root: Path, layout: str, version: str | None) -> str:
    if version is not None:
        if version not in VERSIONS:
            raise DatasetError(
                f"unknown Slakh version {version!r}; valid: {', '.join(map(repr, VERSIONS))}"
            )
        needs = "flat" if version == "baby" else "splits" if version != "folder" else layout
        if needs != layout:
            raise DatasetError(
                f"version {version!r} expects "
                + ("track folders directly" if needs == "flat" else "split folders")
                + f" but {str(root)!r} has "
                + ("split folders" if layout == "splits" else "no split folders")
            )
        return version
    name = root.name.lower()
    if layout == "flat":
        return "baby" if name.startswith("babyslakh") else "folder"
    if "redux" in name:
        return "2100-redux"
    if name.startswith("slakh2100"):
        return "2100"
    return "folder"


# -- index ------------------------------------------------------------------------
def _track_dirs(root: Path, layout: str) -> list[tuple[str | None, Path]]:
    """(split, folder) of every track folder, sorted."""
    out: list[tuple[str | None, Path]] = []
    parents = [(s, root / s) for s in SPLITS] if layout == "splits" else [(None, root)]
    for split, parent in parents:
        if not parent.is_dir():
            continue
        for c in sorted(parent.iterdir()):
            if _is_track_dir(c):
                out.append((split, c))
    return out


def _listing(d: Path) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except OSError:
        return []


def _fingerprint(root: Path, layout: str) -> str:
    """Hash of the folder's shape: track folders, file names, and metadata.yaml stat."""
    h = hashlib.sha1()
    for split, d in _track_dirs(root, layout):
        h.update(f"{split}/{d.name}\0".encode())
        for sub in (d, d / "stems", d / "MIDI"):
            h.update(("\0".join(_listing(sub)) + "\1").encode())
        try:
            st = (d / "metadata.yaml").stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(b"no-metadata")
    return h.hexdigest()


def _load_yaml(path: str | Path) -> Any:
    """``yaml.safe_load`` with libyaml's C loader when available (about 8x faster)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # a safe loader (C or Python)


def _find_audio(folder: Path, stem: str, prefer: str) -> Path | None:
    for ext in (prefer, *_AUDIO_EXTS):
        p = folder / f"{stem}{ext}"
        if p.is_file():
            return p
    return None


def build_index(root: Path, layout: str, version: str) -> dict[str, Any]:
    """Build a mirdata-format slakh index from a folder (md5 entries are ``None``).

    Paths are relative to ``root.parent`` and start with ``root.name``, as in
    mirdata's own index (so mirdata reads the split from the path). Stems are
    taken from each ``metadata.yaml``: a stem's audio path is recorded when the
    file exists or the metadata says ``audio_rendered: true`` (then a missing
    file is reported by validation); a stem with neither audio nor MIDI is left out.

    Returns
    -------
    dict
        ``{"version", "tracks", "multitracks", "instsim": {...}}``; the
        ``instsim`` entry records the layout, the folder fingerprint and the
        track folders whose metadata is missing or unreadable.
    """
    base = root.parent

    def rel(p: Path | None) -> list[str | None]:
        return [None, None] if p is None else [p.relative_to(base).as_posix(), None]

    tracks: dict[str, Any] = {}
    multitracks: dict[str, Any] = {}
    problems: dict[str, list] = {"missing": [], "unreadable": []}
    seen: dict[str, Path] = {}
    for _split, d in _track_dirs(root, layout):
        mtrack_id = d.name
        if "-" in mtrack_id:
            raise DatasetError(
                f"track folder {str(d)!r}: names may not contain '-' (mirdata splits ids on it)"
            )
        if mtrack_id in seen:
            raise DatasetError(
                f"track id {mtrack_id!r} appears twice: {str(seen[mtrack_id])!r} and {str(d)!r}"
            )
        seen[mtrack_id] = d
        meta_path = d / "metadata.yaml"
        if not meta_path.is_file():
            problems["missing"].append(str(meta_path))
            continue
        try:
            meta = _load_yaml(meta_path)
            stems = meta["stems"]
            if not isinstance(stems, dict):
                raise TypeError("'stems' is not a mapping")
        except Exception as exc:
            problems["unreadable"].append([str(meta_path), f"{type(exc).__name__}: {exc}"])
            continue
        mix = _find_audio(d, "mix", ".flac")
        prefer = mix.suffix if mix is not None else ".flac"
        track_ids = []
        for stem_id in sorted(stems):
            info = stems[stem_id] or {}
            audio = _find_audio(d / "stems", str(stem_id), prefer)
            if audio is None and info.get("audio_rendered", True):
                audio = d / "stems" / f"{stem_id}{prefer}"  # expected; validation reports it
            midi = d / "MIDI" / f"{stem_id}.mid"
            if not midi.is_file() and not info.get("midi_saved", False):
                midi = None
            if audio is None and midi is None:
                continue
            tid = f"{mtrack_id}-{stem_id}"
            track_ids.append(tid)
            tracks[tid] = {"audio": rel(audio), "midi": rel(midi), "metadata": rel(meta_path)}
        all_src = d / "all_src.mid"
        multitracks[mtrack_id] = {
            "tracks": track_ids,
            "midi": rel(all_src if all_src.is_file() else None),
            "mix": rel(mix if mix is not None else d / f"mix{prefer}"),
            "metadata": rel(meta_path),
        }
    return {
        "version": _MIRDATA_VERSION[layout],
        "tracks": tracks,
        "multitracks": multitracks,
        "instsim": {
            "format": _INDEX_FORMAT,
            "root": root.name,
            "layout": layout,
            "slakh_version": version,
            "fingerprint": _fingerprint(root, layout),
            "problems": problems,
        },
    }


def _index_files(index: dict[str, Any]) -> dict[str, str | None]:
    """Every relative path in an index with its md5 (``None`` when unknown)."""
    files: dict[str, str | None] = {}
    for section in ("tracks", "multitracks"):
        for entry in index.get(section, {}).values():
            for key, value in entry.items():
                if key != "tracks" and value and value[0] is not None:
                    files[value[0]] = value[1]
    return files


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _user_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "instsim"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- the plugin ---------------------------------------------------------------------
class SlakhDataset(MultitrackDataset):
    """Slakh2100 (redux or original), babyslakh, or any folder in Slakh's layout.

    Parameters
    ----------
    data_home : str or os.PathLike
        The corpus folder (``.../slakh2100_flac_redux``) or the folder holding
        it (mirdata's ``data_home``, e.g. ``~/mir_datasets/slakh``).
    version : str or None
        One of :data:`VERSIONS`; ``None`` detects it from the folder's name and layout.
    index : {"auto", "official", "folder"}
        ``"auto"`` uses mirdata's official index when it is on disk and matches
        the folder, else builds one; ``"official"`` requires it; ``"folder"``
        always indexes the folder.
    index_dir : str or os.PathLike or None
        Where to cache the built index (default ``<data_home>/.instsim``, or
        ``~/.cache/instsim/slakh_index`` when that is not writable).
    rebuild_index : bool
        Ignore a cached index.

    Attributes
    ----------
    root : Path
        The corpus folder (holding split or track folders).
    layout : str
        ``"splits"`` or ``"flat"``.
    index_source : str
        ``"official"``, ``"cache"`` (a built index reused) or ``"folder"`` (built now).
    index_path : Path or None
        The cached index file (``None`` for the official index).
    mirdata : mirdata.datasets.slakh.Dataset
        mirdata's dataset object, holding the index.
    """

    name: ClassVar[str] = "slakh"
    instruments: ClassVar[tuple[str, ...]] = INSTRUMENTS
    versions: ClassVar[tuple[str, ...]] = VERSIONS

    def __init__(
        self,
        data_home: str | os.PathLike,
        version: str | None = None,
        *,
        index: str = "auto",
        index_dir: str | os.PathLike | None = None,
        rebuild_index: bool = False,
    ) -> None:
        super().__init__(Path(data_home).expanduser(), version)
        if index not in ("auto", "official", "folder"):
            raise DatasetError(f"index must be 'auto', 'official' or 'folder', got {index!r}")
        self.root, self.layout = _locate(self.data_home, version)
        self.version = _detect_version(self.root, self.layout, version)
        self._index_dir = Path(index_dir) if index_dir is not None else None
        self.index_path: Path | None = None
        self.index_source = ""
        idx = None
        if index in ("auto", "official"):
            idx = self._official_index()
            if idx is None and index == "official":
                raise DatasetError(
                    f"mirdata's official index for version {self.version!r} is not on disk or "
                    f"does not match {str(self.root)!r}; use index='folder' (or 'auto')"
                )
        if idx is None:
            idx = self._folder_index(rebuild_index)
        self._index = idx
        self._mirdata = self._make_mirdata(idx)
        self._splits_of: dict[str, str | None] = {
            mid: self._split_of_path(entry["metadata"][0])
            for mid, entry in idx["multitracks"].items()
        }

    # -- index handling ---------------------------------------------------------
    def _official_index(self) -> dict[str, Any] | None:
        if self.version not in ("2100-redux", "baby"):
            return None
        from mirdata.datasets import slakh as mslakh

        path = Path(mslakh.INDEXES[self.version].get_path())
        if not path.is_file():
            return None
        try:
            idx = json.loads(path.read_text(encoding="utf-8"))
            first = next(iter(idx["multitracks"].values()))["metadata"][0]
        except Exception:
            return None
        if first.split("/")[0] != self.root.name:
            return None
        self.index_source = "official"
        return idx

    def _index_candidates(self) -> list[Path]:
        name = f"slakh_index_{self.root.name}.json"
        key = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:16]
        if self._index_dir is not None:
            return [self._index_dir / f"{key}-{name}"]
        return [self.data_home / ".instsim" / name, _user_cache() / "slakh_index" / f"{key}-{name}"]

    def _folder_index(self, rebuild: bool) -> dict[str, Any]:
        fingerprint = None
        if not rebuild:
            fingerprint = _fingerprint(self.root, self.layout)
            for path in self._index_candidates():
                try:
                    idx = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                meta = idx.get("instsim", {})
                if (
                    meta.get("format") == _INDEX_FORMAT
                    and meta.get("fingerprint") == fingerprint
                    and meta.get("root") == self.root.name
                ):
                    self.index_path = path
                    self.index_source = "cache"
                    return idx
        idx = build_index(self.root, self.layout, self.version)
        self.index_source = "folder"
        self._save_index(idx)
        return idx

    def _save_index(self, idx: dict[str, Any]) -> None:
        for path in self._index_candidates():
            try:
                _write_json(path, idx)
            except OSError:
                continue
            self.index_path = path
            return
        self.index_path = None  # nowhere writable: the index lives in memory only

    def _make_mirdata(self, idx: dict[str, Any]) -> Any:
        from mirdata.datasets import slakh as mslakh

        ds = mslakh.Dataset(data_home=str(self.root.parent), version=_MIRDATA_VERSION[self.layout])
        # mirdata reads its index lazily through the cached property ``_index``;
        # setting the attribute hands it ours without touching mirdata's files.
        ds._index = idx
        return ds

    def _split_of_path(self, rel: str | None) -> str | None:
        if self.layout != "splits" or not rel:
            return None
        return rel.split("/")[1]

    @property
    def mirdata(self) -> Any:
        return self._mirdata

    @property
    def index(self) -> dict[str, Any]:
        """The mirdata-format index in use (do not modify)."""
        return self._index

    # -- contract -------------------------------------------------------------------
    def splits(self) -> list[str]:
        present = {s for s in self._splits_of.values() if s is not None}
        return [s for s in SPLITS if s in present]

    def track_ids(self, split: str | None = None) -> list[str]:
        if split is None:
            return sorted(self._splits_of)
        valid = self.splits()
        if split not in valid:
            raise DatasetError(
                f"no split {split!r} in {str(self.root)!r}; "
                + (f"valid: {', '.join(map(repr, valid))}" if valid else "this copy has no splits")
            )
        return sorted(t for t, s in self._splits_of.items() if s == split)

    def multitrack(self, track_id: str) -> Multitrack:
        if track_id not in self._splits_of:
            examples = ", ".join(repr(t) for t in sorted(self._splits_of)[:3])
            raise DatasetError(
                f"no track {track_id!r} in {str(self.root)!r} ({len(self._splits_of)} tracks"
                + (f", e.g. {examples})" if examples else ")")
            )
        mt = self._mirdata.multitrack(track_id)
        try:
            meta = _load_yaml(mt.metadata_path)
            stems_meta = meta["stems"]
        except Exception as exc:
            raise DatasetError(
                f"cannot read metadata of track {track_id!r} ({mt.metadata_path}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        # mirdata parses metadata.yaml with the pure-Python yaml loader once for the
        # multitrack and again for every stem (~10 ms each); hand its cached
        # properties the same document, parsed once with libyaml. mirdata's own
        # accessors (program_number, is_drum, instrument, uuid ...) then read it.
        mt.__dict__["_multitrack_metadata"] = meta
        stems: dict[str, Stem] = {}
        for tid, track in mt.tracks.items():
            stem_id = tid.split("-", 1)[1]
            info = stems_meta.get(stem_id) or {}
            track.__dict__["_track_metadata"] = info
            stems[stem_id] = Stem(
                stem_id=stem_id,
                group=group_of(track.program_number, track.is_drum),
                audio_path=track.audio_path,
                midi_path=track.midi_path,
                program=track.program_number,
                is_drum=bool(track.is_drum),
                inst_class=track.instrument,
                name=track.midi_program_name,
                plugin=track.plugin_name,
                audio_rendered=info.get("audio_rendered"),
            )
        return Multitrack(
            track_id,
            stems,
            mix_path=mt.mix_path,
            midi_path=mt.midi_path,
            metadata_path=mt.metadata_path,
            split=mt.split,
            metadata=meta,
            instruments=self.instruments,
            source=mt,
        )

    def validate(
        self,
        checksums: bool = False,
        progress: Progress | None = None,
        check_audio: bool = True,
    ) -> ValidationReport:
        """Check this copy against its index.

        Parameters
        ----------
        checksums : bool
            Also compare md5 checksums: with the official index, or with the ones
            recorded in the cached index; if none were recorded yet they are
            computed now and stored (a note says so), so later runs can compare.
        progress : callable(done, total) or None
        check_audio : bool
            Open every existing audio file's header (soundfile) and MIDI file's
            header to catch unreadable files.

        Returns
        -------
        ValidationReport
        """
        import soundfile as sf

        report = ValidationReport(self.name, str(self.data_home), self.version)
        report.notes.append(
            f"corpus folder {self.root} ({self.layout} layout), index: {self.index_source}"
            + (f" ({self.index_path})" if self.index_path else "")
        )
        problems = self._index.get("instsim", {}).get("problems", {})
        report.missing.extend(problems.get("missing", []))
        report.unreadable.extend(tuple(x) for x in problems.get("unreadable", []))

        base = self.root.parent
        files = _index_files(self._index)
        existing: list[str] = []
        for rel in files:
            if (base / rel).is_file():
                existing.append(rel)
            else:
                report.missing.append(str(base / rel))

        if checksums:
            self._check_md5(files, existing, report, progress)

        tracks = self.track_ids()
        total = len(tracks) + (len(existing) if check_audio else 0)
        done = 0
        per_split: dict[str, int] = {}
        counts = dict.fromkeys(self.instruments, 0)
        for tid in tracks:
            split = self._splits_of[tid] or "all"
            per_split[split] = per_split.get(split, 0) + 1
            try:
                mt = self.multitrack(tid)
            except DatasetError as exc:
                report.unreadable.append((str(self._mirdata_path(tid)), str(exc)))
            else:
                for g, ids in mt.groups.items():
                    counts[g] += bool(ids)
            done += 1
            if progress is not None:
                progress(done, total)
        report.tracks_per_split = {s: per_split[s] for s in [*SPLITS, "all"] if s in per_split}
        report.group_counts = counts

        if check_audio:
            for rel in existing:
                path = base / rel
                reason = None
                try:
                    if path.suffix == ".mid":
                        with open(path, "rb") as fh:
                            if fh.read(4) != b"MThd":
                                reason = "not a standard MIDI file (no MThd header)"
                    elif path.suffix in _AUDIO_EXTS:
                        info = sf.info(str(path))
                        if info.frames <= 0:
                            reason = "no audio samples"
                except Exception as exc:
                    reason = str(exc).strip() or type(exc).__name__
                if reason:
                    report.unreadable.append((str(path), reason))
                done += 1
                if progress is not None:
                    progress(done, total)

        expected = KNOWN_SIZES.get(self.version, {})
        for split, n in expected.items():
            have = report.tracks_per_split.get(split, 0)
            if have != n:
                report.notes.append(
                    f"the {self.version} release has {n} {split} tracks, this copy has {have}"
                )
        return report

    def _mirdata_path(self, track_id: str) -> Path:
        rel = self._index["multitracks"][track_id]["metadata"][0]
        return self.root.parent / rel

    def _check_md5(
        self,
        files: dict[str, str | None],
        existing: Iterable[str],
        report: ValidationReport,
        progress: Progress | None,
    ) -> None:
        base = self.root.parent
        existing = list(existing)
        known = [r for r in existing if files[r] is not None]
        unknown = [r for r in existing if files[r] is None]
        if known:
            from mirdata import validate as mvalidate

            sub = {"multitracks": {str(i): {"file": [r, files[r]]} for i, r in enumerate(known)}}
            _missing, invalid = mvalidate.validate_index(sub, str(base), verbose=False)
            for paths in invalid.get("multitracks", {}).values():
                report.invalid_checksums.extend(paths)
        if unknown:
            if self.index_source == "official":
                return
            workers = min(8, os.cpu_count() or 1)
            with ThreadPoolExecutor(workers) as pool:
                digests = dict(zip(unknown, pool.map(lambda r: _md5(base / r), unknown)))
            for section in ("tracks", "multitracks"):
                for entry in self._index[section].values():
                    for key, value in entry.items():
                        if key != "tracks" and value and value[0] in digests:
                            value[1] = digests[value[0]]
            self._save_index(self._index)
            where = f" in {self.index_path}" if self.index_path else " (in memory only)"
            report.notes.append(
                f"recorded md5 checksums of {len(unknown)} files for the first time{where}; "
                "later runs with checksums compare against them"
            )
