"""Make the short example clips in examples/audio from a corpus rendered by ``instsim synth``.

    instsim synth --out data/synth-fluid --songs 700 --seconds 60 --seed 2026 --sr 22050 \
                  --splits 0.8572,0.0571,0.0857
    python examples/make_audio.py --corpus data/synth-fluid --out examples/audio

Writes four 20 s mono clips of the corpus' test split (songs the default model never
trained on):

* ``song_a.flac``: song A;
* ``song_b.flac``: song B, of A's tempo group;
* ``song_a_drums_over_b.flac``: A's drums over B's other instruments, first onsets
  aligned (a pseudo-mix, as in training and evaluation);
* ``song_c.flac``: an unrelated song C.

So ``similarity(a, a_drums_over_b, focus="drums")`` should beat ``similarity(a, b,
focus="drums")``, and the other way round on the other sub-spaces.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from instsim.data.pseudomix import estimate_tempo, first_onset, fold_tempo
from instsim.instruments import INSTRUMENTS
from instsim.plugins.datasets import open_dataset

SR = 22050
SECONDS = 20.0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", required=True, help="corpus folder (Slakh layout)")
    ap.add_argument("--out", default="examples/audio")
    ap.add_argument("--split", default="test")
    args = ap.parse_args()

    ds = open_dataset("slakh", args.corpus)
    songs = {}
    for tid in ds.track_ids(args.split)[:24]:
        g = ds.multitrack(tid).load_groups(SR)
        if g.signals["drums"] is None or not all(
            g.signals[c] is not None for c in ("bass", "others")
        ):
            continue
        mix = g.mix()
        songs[tid] = (g, fold_tempo(estimate_tempo(mix, SR) or 0.0), first_onset(mix, SR) or 0.0)
    ids = sorted(songs)
    pair = next(
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if abs(songs[a][1] - songs[b][1]) < 3.0
    )
    a, b = pair
    c = max((t for t in ids if t not in pair), key=lambda t: abs(songs[t][1] - songs[a][1]))
    n = int(SECONDS * SR)

    def cut(tid: str, groups: tuple[str, ...], start: float) -> np.ndarray:
        y = songs[tid][0].mix(list(groups))
        i = max(0, round(start * SR))
        out = np.zeros(n, dtype=np.float32)
        seg = y[i : i + n]
        out[: seg.size] = seg
        return out

    t_a = songs[a][2]
    t_b = songs[b][2]
    rest = tuple(g for g in INSTRUMENTS if g != "drums")
    clips = {
        "song_a.flac": cut(a, INSTRUMENTS, t_a),
        "song_b.flac": cut(b, INSTRUMENTS, t_b),
        "song_a_drums_over_b.flac": cut(a, ("drums",), t_a) + cut(b, rest, t_b),
        "song_c.flac": cut(c, INSTRUMENTS, songs[c][2]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, y in clips.items():
        peak = float(np.abs(y).max())
        sf.write(out / name, y * (0.89 / peak if peak > 0.89 else 1.0), SR, subtype="PCM_16")
    (out / "SOURCES.json").write_text(
        json.dumps(
            {
                "corpus": str(args.corpus),
                "split": args.split,
                "a": a,
                "b": b,
                "c": c,
                "tempo_bpm_folded": {t: round(songs[t][1], 1) for t in (a, b, c)},
                "seconds": SECONDS,
                "sample_rate": SR,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {len(clips)} clips to {out}: A={a}, B={b}, C={c}")


if __name__ == "__main__":
    main()
