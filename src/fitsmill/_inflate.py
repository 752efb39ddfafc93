"""A lean gzip reader for the streaming downscaler.

``gzip.GzipFile`` hands out at most one small inflate step per read and
checks the CRC in a second pass; this reader inflates megabyte chunks
straight from zlib (which verifies the gzip trailer itself) and serves them
without copies, which makes ``.fits.gz`` previews as fast as ``zcat``.
"""

import io
import zlib

# Compressed bytes read, and decompressed bytes produced, per inflate call:
# large enough that Python overhead vanishes, small enough to keep memory flat.
_IN = 1 << 20
_OUT = 4 << 20


class GzipStream(io.RawIOBase):
    """Read-only, forward-only decompressed view of a gzip stream.

    Concatenated members are read in sequence; zero padding after the last
    member is ignored, as gzip does.  Corrupt input raises ``zlib.error``,
    input that ends inside a member raises ``EOFError``.

    Parameters
    ----------
    raw : binary file-like
        The compressed bytes, positioned at the gzip header.
    """

    def __init__(self, raw):
        super().__init__()
        self.raw = raw
        self._d = zlib.decompressobj(31)
        self._view = memoryview(b"")
        self._off = 0
        self._pos = 0

    def readable(self):
        return True

    def seekable(self):
        return False

    def tell(self):
        """Position in the decompressed data."""
        return self._pos

    def readinto(self, b):
        """Fill ``b`` as far as the data go; return the byte count."""
        with memoryview(b) as target, target.cast("B") as out:
            got = 0
            while got < len(out):
                avail = len(self._view) - self._off
                if not avail:
                    if not self._fill():
                        break
                    continue
                k = min(avail, len(out) - got)
                out[got:got + k] = self._view[self._off:self._off + k]
                self._off += k
                got += k
        self._pos += got
        return got

    def peek(self, n=1):
        """Up to ``n`` upcoming bytes without consuming them (b"" at the end)."""
        if self._off == len(self._view):
            self._fill()
        return bytes(self._view[self._off:self._off + n])

    def _fill(self):
        """Inflate the next chunk; False at the clean end of the stream."""
        d = self._d
        while True:
            if d.unconsumed_tail:
                src = d.unconsumed_tail
            elif d.eof:
                src = d.unused_data or self.raw.read(_IN)
                if not src.strip(b"\0"):
                    return False
                d = self._d = zlib.decompressobj(31)
            else:
                src = self.raw.read(_IN)
                if not src:
                    raise EOFError("compressed stream ends before its end marker")
            out = d.decompress(src, _OUT)
            if out:
                self._view = memoryview(out)
                self._off = 0
                return True
