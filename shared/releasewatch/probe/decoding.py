"""Content-Encoding undone by us, bounded while decoding: no body can inflate past the cap.

httpx's own decoders inflate each network chunk whole, and stacked encodings (`gzip, gzip`)
multiply: a 2 KB answer could take gigabytes before any size check ran. Here every layer
inflates at most STEP bytes per call (zlib's `max_length`), and every layer's running total is
held to the cap, so the memory a probe holds stays near the cap whatever the server sends.

Only what we ask for is undone (the prober sends `Accept-Encoding: gzip, deflate`): gzip
(several members too), deflate (zlib-wrapped, or raw as some servers send it) and identity,
at most MAX_LAYERS deep. Anything else is refused with a clear reason, never guessed at.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

ACCEPT_ENCODING = "gzip, deflate"
MAX_LAYERS = 3
STEP = 64 * 1024


class BodyTooLarge(Exception):
    """The decoded body (or one of its layers) would pass the cap."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding we did not ask for and do not undo."""


class BadEncoding(Exception):
    """The body is not valid in the encoding it claims."""


def parse_encodings(header: str | None) -> list[str]:
    """The codings applied, in the order applied; identity dropped. Raises UnsupportedEncoding."""
    names = [part.strip().lower() for part in (header or "").split(",")]
    names = [n for n in names if n and n != "identity"]
    for name in names:
        if name not in ("gzip", "x-gzip", "deflate"):
            raise UnsupportedEncoding(f"unsupported content-encoding {name[:40]!r}")
    if len(names) > MAX_LAYERS:
        raise UnsupportedEncoding(f"unsupported content-encoding: {len(names)} layers")
    return names


class _Layer:
    """One coding undone incrementally; `feed` yields output in pieces of at most STEP."""

    def __init__(self, name: str) -> None:
        self.gzip = name in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)
        # "deflate" may come as a raw stream, without its zlib header: until the first output,
        # the input is kept so that it can be read again raw (it may arrive a byte at a time).
        self._raw_fallback = not self.gzip
        self._head = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Lazily: the caller counts each piece before the next is made."""
        pending = data
        if self._raw_fallback:
            self._head += data
        while True:
            try:
                piece = self._d.decompress(pending, STEP)
            except zlib.error as exc:
                if self._raw_fallback:
                    self._raw_fallback = False
                    self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                    pending, self._head = bytes(self._head), bytearray()
                    continue
                kind = "gzip" if self.gzip else "deflate"
                raise BadEncoding(f"body is not valid {kind}: {exc}") from None
            pending = self._d.unconsumed_tail
            if piece:
                if self._raw_fallback:  # it decodes as zlib: no going back
                    self._raw_fallback, self._head = False, bytearray()
                yield piece
            if self._d.eof:
                rest = self._d.unused_data
                if self.gzip and rest.startswith(b"\x1f\x8b"):  # another gzip member
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    pending = rest
                    continue
                return  # anything after the end of the stream is ignored
            if not pending and len(piece) < STEP:
                return


class BoundedDecoder:
    """Raw body bytes in, decoded bytes out; raises BodyTooLarge past `cap` at any layer."""

    def __init__(self, encodings: list[str], cap: int) -> None:
        self._layers = [_Layer(name) for name in reversed(encodings)]  # last applied first
        self._cap = cap
        self.body = bytearray()

    def feed(self, raw: bytes) -> None:
        self._push(0, raw)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            if len(self.body) + len(data) > self._cap:
                raise BodyTooLarge
            self.body += data
            return
        layer = self._layers[index]
        for piece in layer.feed(data):
            layer.total += len(piece)
            if layer.total > self._cap:
                raise BodyTooLarge
            self._push(index + 1, piece)


async def read_decoded(raw: AsyncIterator[bytes], encodings: list[str], cap: int) -> bytes:
    """The body decoded, or BodyTooLarge as soon as any layer passes `cap` bytes."""
    decoder = BoundedDecoder(encodings, cap)
    received = 0
    async for chunk in raw:
        received += len(chunk)
        if received > cap:
            raise BodyTooLarge
        decoder.feed(chunk)
    return bytes(decoder.body)
