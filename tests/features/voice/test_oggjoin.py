"""OggOpus parts joined into one stream: real encoder output (espeak-ng + opusenc, committed)
and the tests' silent files, checked page by page by an independent parser
(bot/testing/ogg_opus.py)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bot.features.voice.oggjoin import OggError, duration, join, pages, voice_messages
from bot.testing.ogg_opus import ogg_duration, ogg_opus, ogg_problem

HELLO = (Path(__file__).parents[2] / "fixtures" / "speech" / "hello.ogg").read_bytes()


def test_the_fixture_is_real_speech_from_an_encoder() -> None:
    assert ogg_problem(HELLO) is None
    assert b"opusenc" in HELLO[:400], "made by opus-tools"
    assert 2.0 < duration(HELLO) < 2.5
    sizes = {len(p.body) for p in pages(HELLO)}
    assert len(sizes) > 2, "audio packets of varying size, not silence frames"


def test_joined_parts_are_one_valid_stream_as_long_as_the_parts() -> None:
    joined = join([HELLO, ogg_opus(1.5), HELLO])
    assert ogg_problem(joined) is None
    assert ogg_problem(HELLO + HELLO) is not None, "plain appending makes a chained file"
    expected = duration(HELLO) * 2 + 1.5
    assert duration(joined) == pytest.approx(expected, abs=0.03)
    assert ogg_duration(joined) == pytest.approx(expected, abs=0.03)
    assert joined.count(b"OpusHead") == 1
    assert joined.count(b"OpusTags") == 1
    serials = {p.serial for p in pages(joined)}
    assert len(serials) == 1


def test_one_part_is_returned_as_it_is() -> None:
    assert join([HELLO]) == HELLO


def test_broken_input_is_refused() -> None:
    damaged = bytearray(HELLO)
    damaged[200] ^= 0xFF
    with pytest.raises(OggError):
        join([HELLO, bytes(damaged)])
    with pytest.raises(OggError):
        join([HELLO, b"ID3 mp3 bytes"])
    stereo = bytearray(ogg_opus(1))
    head = stereo.find(b"OpusHead")
    stereo[head + 9] = 2  # channel count
    page_start = stereo.rfind(b"OggS", 0, head)
    end = head + 19
    from bot.features.voice.oggjoin import crc

    stereo[page_start + 22 : page_start + 26] = b"\0\0\0\0"
    checksum = crc(bytes(stereo[page_start:end]))
    stereo[page_start + 22 : page_start + 26] = struct.pack("<I", checksum)
    with pytest.raises(OggError, match="channel"):
        join([HELLO, bytes(stereo)])
    with pytest.raises(OggError):
        join([])


def test_past_one_messages_size_the_parts_go_as_several_in_order() -> None:
    clips = [ogg_opus(1.0), HELLO, ogg_opus(3.0), HELLO]
    limit = len(clips[0]) + len(HELLO)  # the first two fit together, then no more
    messages = voice_messages(clips, limit)
    assert len(messages) == 3
    assert all(ogg_problem(m) is None for m in messages)
    assert all(len(m) <= limit for m in messages)
    lengths = [duration(m) for m in messages]
    assert lengths == pytest.approx([1.0 + duration(HELLO), 3.0, duration(HELLO)], abs=0.03)
    assert voice_messages(clips, 10**9) == [join(clips)]
