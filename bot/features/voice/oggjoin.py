"""OggOpus files joined into one: the pages of several synthesised parts as one stream.

RFC 7845 (Ogg encapsulation of Opus) and RFC 3533 (Ogg): a stream is pages with one serial
number, sequence numbers counting up from 0, the first page flagged "beginning of stream", the
last "end of stream", and granule positions counting 48 kHz samples from the stream's start.
Simply appending files makes a chained Ogg file (valid, but not every player goes past the
first link), so the parts are re-muxed: the first file's headers (OpusHead, OpusTags) stay,
the later files' are dropped, every audio page takes the first serial number and the next
sequence number, its granule position is shifted by the samples before it, and the CRC is
computed again. The parts must have the same channel count (SpeechKit's always do).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, n
_BOS, _EOS = 0x02, 0x04


class OggError(ValueError):
    """Not an OggOpus file this module can join."""


@dataclass(frozen=True, slots=True)
class Page:
    flags: int
    granule: int
    serial: int
    lacing: bytes
    body: bytes


# Ogg's CRC-32 is the unreflected one (polynomial 0x04C11DB7, initial 0, no final xor);
# zlib's is the reflected form of the same polynomial, so reflecting every input byte and the
# result gives Ogg's at zlib's speed (a pure-Python loop took ~0.2 s per megabyte of audio).
_REFLECT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def crc(data: bytes) -> int:
    """Ogg's CRC-32 of ``data``."""
    raw = zlib.crc32(data.translate(_REFLECT), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def pages(data: bytes) -> Iterator[Page]:
    """The pages of an Ogg file, each checked for its capture pattern, size and CRC."""
    at = 0
    while at < len(data):
        if len(data) < at + _HEADER.size:
            raise OggError("a page is cut short")
        capture, _version, flags, granule, serial, _seq, checksum, count = _HEADER.unpack_from(
            data, at
        )
        if capture != b"OggS":
            raise OggError(f"no Ogg page at byte {at}")
        lacing = data[at + _HEADER.size : at + _HEADER.size + count]
        end = at + _HEADER.size + count + sum(lacing)
        if len(lacing) < count or end > len(data):
            raise OggError("a page is cut short")
        raw = data[at:end]
        if crc(raw[:22] + b"\0\0\0\0" + raw[26:]) != checksum:
            raise OggError(f"bad CRC in the page at byte {at}")
        yield Page(flags, granule, serial, lacing, raw[_HEADER.size + count :])
        at = end


def _encode(page: Page, sequence: int, flags: int, granule: int, serial: int) -> bytes:
    head = _HEADER.pack(b"OggS", 0, flags, granule, serial, sequence, 0, len(page.lacing))
    raw = head + page.lacing + page.body
    return raw[:22] + struct.pack("<I", crc(raw)) + raw[26:]


def _channels(first: Page) -> int:
    if not first.body.startswith(b"OpusHead") or len(first.body) < 19:
        raise OggError("not an OggOpus file (no OpusHead)")
    return first.body[9]


def join(files: Sequence[bytes]) -> bytes:
    """One OggOpus stream playing ``files`` one after another."""
    if not files:
        raise OggError("nothing to join")
    if len(files) == 1:
        return files[0]
    out: list[bytes] = []
    sequence, offset, serial, channels = 0, 0, 0, 0
    parsed = [list(pages(data)) for data in files]
    last_file = len(parsed) - 1
    for index, file_pages in enumerate(parsed):
        if not file_pages:
            raise OggError("an empty file")
        if index == 0:
            serial, channels = file_pages[0].serial, _channels(file_pages[0])
        elif _channels(file_pages[0]) != channels:
            raise OggError("the parts have different channel counts")
        audio_start = 0 if index == 0 else _audio_start(file_pages)
        last_granule = offset
        for number, page in enumerate(file_pages[audio_start:], start=audio_start):
            last_page = index == last_file and number == len(file_pages) - 1
            flags = page.flags & ~(_BOS | _EOS)
            if index == 0 and number == 0:
                flags |= _BOS
            if last_page:
                flags |= _EOS
            granule = page.granule
            if granule != -1 and index > 0:
                granule += offset
            if granule != -1:
                last_granule = granule
            out.append(_encode(page, sequence, flags, granule, serial))
            sequence += 1
        offset = last_granule
    return b"".join(out)


def voice_messages(clips: Sequence[bytes], max_bytes: int) -> list[bytes]:
    """``clips`` in order as few OggOpus streams as fit ``max_bytes`` each (one clip larger
    than that is a message of its own)."""
    messages: list[bytes] = []
    group: list[bytes] = []
    for clip in clips:
        if group and sum(map(len, group)) + len(clip) > max_bytes:
            messages.append(join(group))
            group = []
        group.append(clip)
    if group:
        messages.append(join(group))
    return messages


def _audio_start(file_pages: list[Page]) -> int:
    """Index of the first audio page: after OpusHead and OpusTags (granule 0, or -1 while a
    long comment header spans pages)."""
    index = 1
    while index < len(file_pages) and file_pages[index].granule in (0, -1):
        index += 1
    return index


def duration(data: bytes) -> float:
    """Seconds of an OggOpus stream: its last granule position less the pre-skip."""
    all_pages = list(pages(data))
    if not all_pages:
        raise OggError("an empty file")
    head = all_pages[0].body
    if not head.startswith(b"OpusHead"):
        raise OggError("not an OggOpus file (no OpusHead)")
    pre_skip: int = struct.unpack_from("<H", head, 10)[0]
    granule = max(p.granule for p in all_pages)
    return max(0, granule - pre_skip) / 48000

