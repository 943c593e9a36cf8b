"""The inputs of a batch run: files, folders walked recursively, list files.

:class:`InputCollection` finds the inputs and gives each a *relative path*, the
path of the file below the deepest folder that holds every input. Outputs mirror
these relative paths under the output folder, which nothing can escape
(:func:`safe_output_path`): relative paths are computed lexically from absolute
paths and never contain ``..``, and a symlink inside the output folder that
points elsewhere is refused.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..audio import AUDIO_EXTENSIONS
from ..errors import ConfigError
from .staging import STAGING

__all__ = ["InputCollection", "InputItem", "InputProblem", "safe_output_path"]


@dataclass(frozen=True)
class InputItem:
    """One input file.

    Attributes
    ----------
    path : str
        The path to open, as given (or as found below a given folder).
    rel : str
        Its POSIX path relative to the collection's base folder (never absolute,
        never containing ``..``): outputs are named after it.
    """

    path: str
    rel: str


@dataclass(frozen=True)
class InputProblem:
    """Something found while collecting inputs.

    ``fatal`` problems (an unreadable folder, a reserved name) mean inputs were
    lost: they are recorded as failures. Others (a symlink loop, a file listed
    twice) are warnings.
    """

    path: str
    error: str
    message: str
    fatal: bool = True


def _is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


class InputCollection:
    """The inputs of a batch run, found lazily and in a deterministic order.

    Parameters
    ----------
    paths : sequence of path
        Audio files (taken whatever their extension) and folders (walked
        recursively, in name order, for files with an audio extension; symlinks
        are followed, loops reported and skipped).
    lists : sequence of path
        Text files listing one path (file or folder) per line; blank lines and
        lines starting with ``#`` are ignored; relative paths are relative to the
        list file's folder (``"-"`` reads standard input, relative to the current
        folder).
    exclude : sequence of path
        Folders never entered (the output's staging folder).

    Attributes
    ----------
    base : str
        The deepest folder holding every input (absolute); relative paths are
        relative to it.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike] = (),
        lists: Sequence[str | os.PathLike] = (),
        exclude: Sequence[str | os.PathLike] = (),
    ) -> None:
        self._paths = [os.fspath(p) for p in paths]
        self._lists: list[tuple[str, str]] = []  # (list file, folder its entries are relative to)
        self._spool: IO[str] | None = None
        for lst in lists:
            lst = os.fspath(lst)
            if lst == "-":
                if self._spool is None:  # read once, replay from a temporary file
                    self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
                    self._spool.write(sys.stdin.read())
                self._lists.append(("-", os.getcwd()))
            else:
                self._lists.append((lst, os.path.dirname(os.path.abspath(lst))))
        self._exclude = {os.path.realpath(p) for p in exclude}
        self.base = self._common_base()

    def _specs(self) -> Iterator[str]:
        """Every path given, in order: arguments, then each list's entries."""
        yield from self._paths
        for lst, rel_to in self._lists:
            for line in self._lines(lst):
                yield line if os.path.isabs(line) else os.path.join(rel_to, line)

    def _lines(self, lst: str) -> Iterator[str]:
        if lst == "-":
            assert self._spool is not None
            self._spool.seek(0)
        source = contextlib.nullcontext(self._spool) if lst == "-" else open(lst, encoding="utf-8")
        with source as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line.strip() and not line.lstrip().startswith("#"):
                    yield line

    def _common_base(self) -> str:
        base: str | None = None
        for spec in self._specs():
            a = os.path.abspath(spec)
            root = a if os.path.isdir(spec) else os.path.dirname(a)
            base = root if base is None else _commonpath(base, root)
        return base or os.getcwd()

    def count(self) -> int:
        """Number of input files (walks folders again; reports nothing)."""
        return sum(1 for x in self._iter(report=False) if isinstance(x, InputItem))

    def __iter__(self) -> Iterator[InputItem | InputProblem]:
        return self._iter(report=True)

    def _iter(self, report: bool) -> Iterator[InputItem | InputProblem]:
        seen: set[str] = set()
        visited: set[tuple[int, int]] = set()
        for spec in self._specs():
            if os.path.isdir(spec):
                items: Iterable[InputItem | InputProblem] = self._folder(spec, visited)
            else:
                items = [InputItem(spec, _rel(os.path.abspath(spec), self.base))]
            for x in items:
                if isinstance(x, InputProblem):
                    if report:
                        yield x
                    continue
                if x.rel in seen:
                    if report:
                        yield InputProblem(x.path, "DuplicateInput", "listed twice", fatal=False)
                    continue
                seen.add(x.rel)
                if x.rel.split("/", 1)[0] == STAGING:
                    if report:
                        yield InputProblem(
                            x.path,
                            "ReservedName",
                            f"its output name would start with {STAGING!r}, "
                            "the staging folder of instsim extract",
                        )
                    continue
                yield x

    def _folder(
        self, folder: str, visited: set[tuple[int, int]]
    ) -> Iterator[InputItem | InputProblem]:
        """Walk a folder given as input; one that holds no audio file at all is a failure."""
        found = False
        for x in self._walk(folder, visited, ()):
            found = True
            yield x
        if not found:
            yield InputProblem(
                folder,
                "NoAudioFiles",
                "the folder holds no audio file: no file in it or below it has an audio "
                "extension (.wav, .flac, .mp3, .ogg, .m4a, ...)",
            )

    def _walk(
        self, folder: str, visited: set[tuple[int, int]], chain: tuple[tuple[int, int], ...]
    ) -> Iterator[InputItem | InputProblem]:
        try:
            st = os.stat(folder)
        except OSError as exc:
            yield InputProblem(folder, type(exc).__name__, f"cannot read folder: {exc.strerror}")
            return
        key = (st.st_dev, st.st_ino)
        if key in chain:
            yield InputProblem(
                folder, "SymlinkLoop", "symlink loop: leads back to a folder above it", fatal=False
            )
            return
        if key in visited:
            yield InputProblem(
                folder, "DuplicateFolder", "already walked through another path", fatal=False
            )
            return
        if os.path.realpath(folder) in self._exclude:
            return
        visited.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield InputProblem(
                folder, type(exc).__name__, f"cannot list folder: {exc.strerror or exc}"
            )
            return
        for e in entries:
            path = os.path.join(folder, e.name)
            if e.is_dir():  # follows symlinks
                yield from self._walk(path, visited, (*chain, key))
            elif _is_audio_name(e.name):  # files, and broken links (reported when decoded)
                yield InputItem(path, _rel(os.path.abspath(path), self.base))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def _commonpath(a: str, b: str) -> str:
    try:
        return os.path.commonpath([a, b])
    except ValueError:  # different drives (Windows)
        return os.path.abspath(os.sep)


def _rel(abspath: str, base: str) -> str:
    rel = os.path.relpath(abspath, base)
    return Path(rel).as_posix()


def safe_output_path(outdir: str | os.PathLike, rel: str, suffix: str) -> Path:
    """``outdir / rel + suffix``, guaranteed to lie inside ``outdir``.

    Parameters
    ----------
    outdir : path
        The output folder (it may contain symlinks itself).
    rel : str
        POSIX relative path (from :class:`InputItem`).
    suffix : str
        Appended to the last component (``".npz"``), so ``a.wav`` and ``a.flac``
        in one folder get different outputs.

    Raises
    ------
    ConfigError
        ``rel`` is absolute, empty, contains ``.``/``..``/NUL components, or a
        symlink already inside ``outdir`` would lead the file out of it.
    """
    parts = rel.split("/")
    if (
        not rel
        or os.path.isabs(rel)
        or any(p in ("", ".", "..") or "\x00" in p or (os.altsep and os.altsep in p) for p in parts)
    ):
        raise ConfigError("output_dir", f"unsafe relative output path {rel!r}")
    root = os.path.realpath(outdir)
    target = Path(outdir, *parts[:-1], parts[-1] + suffix)
    real_parent = os.path.realpath(target.parent)
    if real_parent != root and not real_parent.startswith(root.rstrip(os.sep) + os.sep):
        raise ConfigError(
            "output_dir",
            f"{str(target)!r} would be written outside the output folder {root!r} "
            "(a symlink inside it points elsewhere)",
        )
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise ConfigError("output_dir", f"{str(target)!r} exists and is not a regular file")
    return target
