"""Decoder messages (instsim.decode): named types, per-segment levels, errors as messages."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from instsim.decode import (
    DecodeParams,
    Failed,
    Finished,
    Segments,
    Stop,
    ThreadDecoder,
    decode_item,
)
from instsim.errors import ConfigError
from instsim.segments import Segmentation
from tests.conftest import SR, music

PARAMS = DecodeParams(None, Segmentation(1.0, 0.5, SR), chunk=4)


def test_decode_item_yields_segments_then_finished() -> None:
    params = DecodeParams(SR, PARAMS.segmentation, chunk=4)
    msgs = list(decode_item(7, music(3.0), params))
    *chunks, end = msgs
    assert all(isinstance(m, Segments) for m in chunks) and isinstance(end, Finished)
    assert [len(m.audio) for m in chunks] == [4, 1]  # 5 segments of 1 s every 0.5 s
    assert all(m.index == 7 and m.source == "<array>" for m in msgs)
    assert chunks[0].spans.shape == (4, 2) and chunks[0].audio.shape == (4, SR)
    assert chunks[0].rms_db.dtype == np.float64 and (chunks[0].rms_db > -30).all()
    assert end.duration == pytest.approx(3.0)


def test_array_without_rate_is_refused() -> None:
    with pytest.raises(ConfigError, match="'sr'"):
        list(decode_item(0, music(1.0), PARAMS))


def test_thread_decoder_sends_named_messages_and_failures(tmp_path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    dec = ThreadDecoder([str(bad)], PARAMS, max_messages=4)
    try:
        msgs = [dec.get(), dec.get()]
    finally:
        dec.close()
    assert isinstance(msgs[0], Failed) and msgs[0].index == 0 and "bad.wav" in str(msgs[0].error)
    assert isinstance(msgs[1], Stop)


def test_messages_pickle() -> None:  # they cross process boundaries
    params = DecodeParams(SR, PARAMS.segmentation)
    for msg in decode_item(3, music(1.0), params):
        again = pickle.loads(pickle.dumps(msg))
        assert type(again) is type(msg) and again.index == 3
        if isinstance(msg, Segments):
            np.testing.assert_array_equal(again.audio, msg.audio)
            np.testing.assert_array_equal(again.rms_db, msg.rms_db)
