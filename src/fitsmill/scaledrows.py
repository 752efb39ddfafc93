"""Streaming block-mean downscaling of FITS images.

:func:`iter_scaled_rows` yields an image shrunk by an integer factor, row by
row, without ever holding the whole image: uncompressed data are mapped a
window at a time and reduced by the C kernel (``csrc/fm_rows.c``) with the
GIL released; ``.fits.gz`` files are decompressed as a stream into the same
kernel; tile-compressed images (``.fz``) are read a few rows at a time
through fitsio.  :func:`scaled_image` returns the whole (small) result.

Each output pixel is the mean of the valid pixels of its ``factor x factor``
block: BLANK pixels of integer images and NaN pixels of float images are
left out, BSCALE/BZERO are applied in double precision, edge blocks average
the pixels present, and a block without any valid pixel is NaN.
:func:`iterScaledRows` keeps DaCHS's interface and factor rule.
"""

import gzip
import io
import math
import os
import zlib

import numpy as np

from fitsmill import _rows, fitsfile
from fitsmill._inflate import GzipStream
from fitsmill.errors import FitsFormatError
from fitsmill.header import Header

__all__ = ["iter_scaled_rows", "scaled_image", "iterScaledRows"]

_PIXTYPE = {8: _rows.PIX_U8, 16: _rows.PIX_I16, 32: _rows.PIX_I32,
            64: _rows.PIX_I64, -32: _rows.PIX_F32, -64: _rows.PIX_F64}

# Native dtypes CFITSIO hands out (after its conventional BZERO offsets).
_DTYPE_PIXTYPE = {"u1": _rows.PIX_U8, "i1": _rows.PIX_I8, "i2": _rows.PIX_I16,
                  "u2": _rows.PIX_U16, "i4": _rows.PIX_I32, "u4": _rows.PIX_U32,
                  "i8": _rows.PIX_I64, "f4": _rows.PIX_F32, "f8": _rows.PIX_F64}

# Output floats produced per kernel call when streaming rows; big enough that
# per-call overhead vanishes, small enough to keep memory flat.
_CHUNK_FLOATS = 1 << 20

# Input bytes decompressed per kernel call on the stream and tile paths.
_READ_BYTES = 1 << 20

# Deflate cannot expand data more than about 1032-fold; a gzip file whose
# header claims more is corrupt, and refusing it early avoids huge buffers.
_DEFLATE_MAX_RATIO = 1032

# Row length limit where the file size cannot bound it (unknown streams,
# tile-compressed images): the kernel's row sums take up to 12 bytes per
# pixel, and real images have rows far below 128 MiB.
_MAX_ROW_BYTES = 1 << 27


# 2-D image shapes seen, keyed by the first five cards of a header in the
# standard's order (SIMPLE or XTENSION, BITPIX, NAXIS = 2, NAXIS1, NAXIS2):
# those bytes alone fix BITPIX and the axes.  The files of an archive share
# a few shapes, and a dictionary lookup costs a fraction of parsing the
# four cards (~18 us of a 1024^2 preview's ~0.8 ms).  Bounded.
_SHAPES = {}
_SHAPES_MAX = 256
_SHAPE_KEY = 5 * 80
_SHAPE_NAMES = ((80, b"BITPIX  "), (160, b"NAXIS   "), (240, b"NAXIS1  "),
                (320, b"NAXIS2  "))


def _standard_2d(raw, axes):
    """True when ``raw`` (header bytes) starts with the mandatory cards of
    a 2-D image, so that its first five cards fix ``axes``."""
    return len(axes) == 2 and len(raw) >= _SHAPE_KEY and \
        all(raw.startswith(name, pos) for pos, name in _SHAPE_NAMES)


class _Image:
    """What the kernel needs to know about one image plane; ``raw``, the
    header bytes when at hand, lets a known shape skip the axis cards."""

    def __init__(self, header, path, offset, compressed=False, raw=None):
        self.path = path
        shape = None if raw is None else _SHAPES.get(raw[:_SHAPE_KEY])
        if shape is None:
            shape = _shape(header, "Z" if compressed else "", path, offset)
            if raw is not None and _standard_2d(raw, shape[1]):
                if len(_SHAPES) >= _SHAPES_MAX:
                    _SHAPES.clear()
                _SHAPES[raw[:_SHAPE_KEY]] = shape
        bitpix, axes = shape
        naxis = len(axes)
        self.axes = axes
        self.pixtype = _PIXTYPE[bitpix]
        self.width = axes[0]
        self.height = axes[1] if naxis > 1 else 1
        self.planes = math.prod(axes[2:])
        self.row_bytes = self.width * abs(bitpix) // 8
        self.bscale = _number(header, "BSCALE", 1.0, path, offset)
        self.bzero = _number(header, "BZERO", 0.0, path, offset)
        blank = _optional(header, "BLANK") if bitpix > 0 else None
        if blank is not None and (isinstance(blank, bool) or not isinstance(blank, int)):
            raise FitsFormatError(f"BLANK = {blank!r} is not an integer", path=path,
                                  offset=offset)
        self.blank = blank

    def plane_offset(self, plane):
        """Byte offset of a plane from the start of the data."""
        if isinstance(plane, bool) or not isinstance(plane, int) or \
                not 0 <= plane < self.planes:
            raise ValueError(f"{self.path}: plane {plane!r} out of range; the image "
                             f"has {self.planes} plane(s)")
        return plane * self.height * self.row_bytes

    def binner(self, factor):
        """A kernel accumulator for this image's stored rows."""
        has_blank, blank = _blank_arg(self.blank)
        return _rows.Binner(self.pixtype, self.width, factor, has_blank, blank,
                            self.bscale, self.bzero, self.path)


def _shape(header, prefix, path, offset):
    """(BITPIX, axes) of an image header, checked; ``prefix`` is "Z" for
    a tile-compressed image."""
    bitpix = header.get(prefix + "BITPIX")
    if isinstance(bitpix, bool) or bitpix not in _PIXTYPE:
        raise FitsFormatError(f"invalid {prefix}BITPIX {bitpix!r}", path=path,
                              offset=offset)
    naxis = header.get(prefix + "NAXIS")
    if isinstance(naxis, bool) or not isinstance(naxis, int) or not 0 < naxis <= 999:
        raise FitsFormatError(f"no image data ({prefix}NAXIS = {naxis!r})",
                              path=path, offset=offset)
    axes = []
    for i in range(1, naxis + 1):
        n = header.get(f"{prefix}NAXIS{i}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise FitsFormatError(f"invalid {prefix}NAXIS{i} {n!r}", path=path,
                                  offset=offset)
        axes.append(n)
    if 0 in axes:
        raise FitsFormatError(f"no image data (an axis of length 0: {axes})",
                              path=path, offset=offset)
    return bitpix, tuple(axes)


def _optional(header, key, default=None):
    """The value of an optional card, else ``default``: a membership test
    first, because a failed lookup costs several times more (about 2.4
    against 0.4 us with fitsmill's Header)."""
    return header[key] if key in header else default


def _number(header, key, default, path, offset):
    value = _optional(header, key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise FitsFormatError(f"{key} = {value!r} is not a finite number",
                              path=path, offset=offset)
    return float(value)


def _blank_arg(blank):
    """(has_blank, value) for the kernel; a BLANK beyond 64 bits matches
    no pixel."""
    if blank is None or not -2**63 <= blank < 2**63:
        return False, 0
    return True, blank


def _factor(image, size, factor):
    if factor is not None:
        if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) \
                or factor < 1:
            raise ValueError(f"factor must be a positive integer, not {factor!r}")
        return int(factor)
    if size is None:
        return 1
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, not {size!r}")
    return max(1, -(-max(image.width, image.height) // int(size)))


def _has_image(info):
    header = info.header
    if _optional(header, "ZIMAGE") is True:
        return True
    if info.index and info.xtension != "IMAGE":
        return False
    return info.data_size > 0 and not _optional(header, "GROUPS") is True


def _pick_hdu(stream, path, ext):
    """The HDUInfo to read from a seekable file: ``ext`` by index or
    EXTNAME, or the first HDU with image data."""
    if ext is not None:
        try:
            return fitsfile.find_hdu(stream, ext)
        except KeyError:
            raise KeyError(f"{path}: no HDU {ext!r}") from None
    for info in fitsfile.iter_hdus(stream):
        if _has_image(info):
            return info
    raise FitsFormatError("no HDU with image data", path=path)


class _Source:
    """An opened source: a plain file (mapped), a stream or a tiled HDU."""

    def __init__(self, source, ext, hdr=None):
        self._owned = None
        self.fitsio = None
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            stream = open(self.path, "rb", buffering=0)
            self._owned = stream
        else:
            stream = source
            self.path = getattr(source, "name", None)
            if not isinstance(self.path, (str, bytes, os.PathLike)):
                self.path = repr(source)
        try:
            self._open(stream, ext, hdr)
        except BaseException:
            self.close()
            raise

    def _open(self, stream, ext, hdr):
        if hdr is not None:
            # DaCHS convention: the stream is positioned at the data of hdr.
            self.image = _Image(hdr, self.path, None)
            self._set_data(stream, stream.tell())
            return
        if _mappable(stream):
            fd = stream.fileno()
            if os.pread(fd, 2, 0) != b"\x1f\x8b":
                info = _pick_hdu(stream, self.path, ext)
                if _optional(info.header, "ZIMAGE") is True:
                    self._open_tiled(info)
                else:
                    self.image = _Image(info.header, self.path, info.header_offset,
                                        raw=info.header_bytes)
                    self._set_data(stream, info.data_offset)
                return
            stream = GzipStream(stream)
        elif _is_gzip_stream(stream):
            stream = GzipStream(stream)
        self._open_stream(stream, ext)

    def _set_data(self, stream, offset):
        self.stream = stream
        self.data_offset = offset
        self.mapped = _mappable(stream)

    def _open_stream(self, stream, ext):
        """Walk the headers of a sequential stream up to the wanted HDU."""
        index = 0
        pos = 0
        limit = _stream_limit(stream)
        while True:
            if index and _at_eof(stream):
                if ext is None:
                    raise FitsFormatError("no HDU with image data", path=self.path)
                raise KeyError(f"{self.path}: no HDU {ext!r}")
            try:
                raw = fitsfile.read_header_bytes(stream, self.path)
                header = Header.fromstring(raw, path=self.path, offset=pos)
                size = fitsfile.data_size(header, self.path, pos)
            except (OSError, EOFError, zlib.error) as exc:
                raise _gzip_error(exc, self.path) from None
            pos += len(raw)
            info = _StreamHDU(index, header, size)
            wanted = _has_image(info) if ext is None else _stream_match(info, ext)
            if wanted:
                if _optional(header, "ZIMAGE") is True:
                    raise FitsFormatError("tile-compressed image inside a gzip "
                                          "stream; decompress it first", path=self.path)
                self.image = _Image(header, self.path, pos - len(raw))
                if limit is not None and size > limit:
                    raise FitsFormatError(
                        f"header claims {size} data bytes, more than the "
                        "compressed file can hold", path=self.path, offset=pos)
                self._set_data(stream, pos)
                self.mapped = False
                return
            padded = -(-size // fitsfile.BLOCK_SIZE) * fitsfile.BLOCK_SIZE
            _skip(stream, padded, self.path, pos)
            pos += padded
            index += 1

    def _open_tiled(self, info):
        import fitsio
        self.image = _Image(info.header, self.path, info.header_offset, compressed=True)
        if self.image.row_bytes > _MAX_ROW_BYTES:
            raise FitsFormatError(f"absurd row length ZNAXIS1 = {self.image.width}",
                                  path=self.path, offset=info.header_offset)
        try:
            self.fitsio = fitsio.FITS(self.path)
        except OSError as exc:
            raise FitsFormatError(f"cannot open with fitsio: {exc}", path=self.path) \
                from None
        self.tiled_hdu = self.fitsio[info.index]
        self.tile_rows = info.header.get("ZTILE2", 1) if self.image.height > 1 else 1
        self.mapped = False
        self.stream = None

    def close(self):
        """Release the file and any decompressor."""
        if self.fitsio is not None:
            self.fitsio.close()
            self.fitsio = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def chunks(self, factor, plane, nrows):
        """Consecutive float32 output rows, in 2-D chunks, for the first
        ``nrows`` rows of ``plane``."""
        if self.fitsio is not None:
            return self._tiled_chunks(factor, plane, nrows)
        if self.mapped:
            return self._mapped_chunks(factor, plane, nrows)
        return self._stream_chunks(factor, plane, nrows)

    def _mapped_chunks(self, factor, plane, nrows):
        img = self.image
        offset = self.data_offset + img.plane_offset(plane)
        ow = -(-img.width // factor)
        per_chunk = max(1, _CHUNK_FLOATS // ow) * factor
        has_blank, blank = _blank_arg(img.blank)
        for first in range(0, nrows, per_chunk):
            n = min(per_chunk, nrows - first)
            out = np.empty((-(-n // factor), ow), np.float32)
            _rows.scale_fd(self.stream.fileno(), offset, first, n, img.pixtype,
                           img.width, factor, has_blank, blank, img.bscale,
                           img.bzero, out, self.path)
            yield out

    def _stream_chunks(self, factor, plane, nrows):
        img = self.image
        if img.row_bytes > _MAX_ROW_BYTES:
            raise FitsFormatError(f"absurd row length NAXIS1 = {img.width}",
                                  path=self.path, offset=self.data_offset)
        start = self.data_offset + img.plane_offset(plane)
        _skip(self.stream, start - self.data_offset, self.path, self.data_offset)
        binner = img.binner(factor)
        rows_per_read = max(1, _READ_BYTES // img.row_bytes)
        buf = bytearray(rows_per_read * img.row_bytes)
        view = memoryview(buf)
        done = 0
        while done < nrows:
            n = min(rows_per_read, nrows - done)
            size = n * img.row_bytes
            _read_exactly(self.stream, view[:size], self.path,
                          start + done * img.row_bytes)
            out = np.empty(((n + factor - 1) // factor + 1, binner.out_width),
                           np.float32)
            k = binner.add(view[:size], out)
            done += n
            if k:
                yield out[:k]
        out = np.empty((1, binner.out_width), np.float32)
        if binner.flush(out):
            yield out

    def _tiled_chunks(self, factor, plane, nrows):
        img = self.image
        img.plane_offset(plane)
        step = max(1, _READ_BYTES // img.row_bytes, factor)
        step = -(-step // self.tile_rows) * self.tile_rows
        binner = None
        for first in range(0, nrows, step):
            last = min(first + step, nrows)
            try:
                if len(img.axes) == 1:
                    data = self.tiled_hdu[:]
                else:
                    lead = np.unravel_index(plane, img.axes[:1:-1]) \
                        if len(img.axes) > 2 else ()
                    data = self.tiled_hdu[(*map(int, lead), slice(first, last),
                                           slice(None))]
            except (OSError, ValueError) as exc:
                raise FitsFormatError(f"cannot decompress rows {first}-{last}: {exc}",
                                      path=self.path) from None
            data = np.ascontiguousarray(data)
            if binner is None:
                binner = self._tiled_binner(data.dtype, factor)
            if data.dtype != data.dtype.newbyteorder(">"):
                # the array is ours: swap to FITS order in place, no copy
                data.byteswap(inplace=True)
            out = np.empty(((last - first) // factor + 1, binner.out_width), np.float32)
            k = binner.add(data.reshape(-1).view(np.uint8), out)
            if k:
                yield out[:k]
        out = np.empty((1, binner.out_width), np.float32)
        if binner.flush(out):
            yield out

    def _tiled_binner(self, dtype, factor):
        """CFITSIO returns values with BSCALE/BZERO applied; BLANK is
        compared in that scaled domain."""
        img = self.image
        pixtype = _DTYPE_PIXTYPE.get(dtype.str[1:])
        if pixtype is None:
            raise FitsFormatError(f"unexpected decompressed type {dtype}",
                                  path=self.path)
        blank = img.blank
        if blank is not None and dtype.kind in "iu":
            scaled = blank * img.bscale + img.bzero
            blank = int(scaled) if float(scaled).is_integer() else None
        else:
            blank = None
        has_blank, value = _blank_arg(blank)
        return _rows.Binner(pixtype, img.width, factor, has_blank, value, 1.0, 0.0,
                            self.path)


class _StreamHDU:
    """The bits of an HDU that HDU selection looks at, for streams."""

    def __init__(self, index, header, data_size):
        self.index = index
        self.header = header
        self.data_size = data_size
        self.xtension = header.get("XTENSION") if index else None
        name = header.get("EXTNAME")
        self.extname = name.strip() if isinstance(name, str) else None


def _stream_match(info, ext):
    if isinstance(ext, int):
        return info.index == ext
    return (info.extname or "").upper() == ext.upper()


def _mappable(stream):
    """True for a real, seekable file with a descriptor we can map."""
    if not isinstance(stream, fitsfile._FILE_TYPES):
        return False
    try:
        return stream.seekable()
    except (OSError, ValueError):
        return False


def _is_gzip_stream(stream):
    if isinstance(stream, gzip.GzipFile):
        return False
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return peek(2)[:2] == b"\x1f\x8b"
    if stream.seekable():
        pos = stream.tell()
        magic = stream.read(2)
        stream.seek(pos)
        return magic == b"\x1f\x8b"
    return False


def _stream_limit(stream):
    """Upper bound of the bytes a stream can deliver, or None."""
    if isinstance(stream, (GzipStream, gzip.GzipFile)):
        raw = getattr(stream, "raw" if isinstance(stream, GzipStream) else "fileobj")
        size = _stream_limit(raw) if isinstance(raw, io.BytesIO) else None
        if size is None:
            try:
                size = os.fstat(raw.fileno()).st_size
            except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
                return None
        return size * _DEFLATE_MAX_RATIO + (1 << 20)
    if isinstance(stream, io.BytesIO):
        return len(stream.getbuffer())
    return None


def _at_eof(stream):
    """True when a stream has nothing more to read (it is not consumed)."""
    try:
        peek = getattr(stream, "peek", None)
        if peek is not None:
            return not peek(1)
        if stream.seekable():
            pos = stream.tell()
            more = stream.read(1)
            stream.seek(pos)
            return not more
    except (OSError, EOFError, zlib.error) as exc:
        raise _gzip_error(exc, getattr(stream, "name", None)) from None
    return False


def _gzip_error(exc, path):
    return FitsFormatError(f"corrupt or truncated gzip stream ({exc})", path=path)


def _read_exactly(stream, view, path, offset):
    got = 0
    while got < len(view):
        try:
            n = stream.readinto(view[got:])
        except (OSError, EOFError, zlib.error) as exc:
            raise _gzip_error(exc, path) from None
        if not n:
            raise FitsFormatError(
                f"data truncated: {len(view) - got} more bytes expected",
                path=path, offset=offset + got)
        got += n


def _skip(stream, nbytes, path, offset):
    """Move a stream ``nbytes`` forward, reading when it cannot seek."""
    if nbytes <= 0:
        return
    if stream.seekable() and not isinstance(stream, gzip.GzipFile):
        stream.seek(nbytes, io.SEEK_CUR)
        return
    buf = bytearray(min(nbytes, _READ_BYTES))
    view = memoryview(buf)
    while nbytes:
        n = min(nbytes, len(buf))
        _read_exactly(stream, view[:n], path, offset)
        offset += n
        nbytes -= n


def _iter_rows(source, factor_of, ext, plane, crop=False, hdr=None):
    """Rows of the downscaled image; ``factor_of(image)`` gives the factor,
    ``crop`` drops remainder rows and columns (DaCHS)."""
    src = _Source(source, ext, hdr)
    try:
        img = src.image
        f = factor_of(img)
        nrows, ncols = img.height, None
        if crop:
            nrows = img.height // f * f
            ncols = img.width // f
        if nrows:
            for chunk in src.chunks(f, plane, nrows):
                for row in chunk:
                    yield row if ncols is None else row[:ncols]
    finally:
        src.close()


def _check_ext(ext):
    if ext is not None and (isinstance(ext, bool) or not isinstance(ext, (int, str))):
        raise TypeError(f"ext must be an HDU index or an EXTNAME, not {ext!r}")


def iter_scaled_rows(source, size=None, factor=None, ext=None, plane=0):
    """Yield a FITS image shrunk by block means, one float32 row at a time.

    Memory stays proportional to one band of ``factor`` input rows, whatever
    the image size.

    Parameters
    ----------
    source : str, os.PathLike or binary file
        A FITS file, plain, gzip-compressed (``.fits.gz``) or holding
        tile-compressed images (``.fz``).
    size : int, optional
        Wanted length of the longer side: ``factor = ceil(max(NAXIS1,
        NAXIS2) / size)``.  Neither size nor factor keeps full resolution.
    factor : int, optional
        Block edge in pixels; wins over ``size``.
    ext : int or str, optional
        HDU index or EXTNAME; by default the first HDU with image data (so
        a compressed image behind an empty primary is found).
    plane : int
        For NAXIS > 2, which plane (counting over NAXIS3, NAXIS4, ...).

    Yields
    ------
    numpy.ndarray
        float32 rows of ``ceil(NAXIS1 / factor)`` pixels, in FITS order (the
        first row is the bottom of the image); ``ceil(NAXIS2 / factor)`` of
        them.  A block without valid pixels is NaN.

    Raises
    ------
    FitsFormatError
        Malformed, truncated or non-FITS input, corrupt compression.
    KeyError
        ``ext`` names no HDU of the file.
    ValueError
        Bad size, factor or plane.
    """
    _check_ext(ext)
    return _iter_rows(source, lambda img: _factor(img, size, factor), ext, plane)


def scaled_image(source, size=None, factor=None, ext=None, plane=0):
    """The block-mean downscaled image as one 2-D float32 array.

    Same arguments and semantics as :func:`iter_scaled_rows`; row 0 of the
    result is the first FITS row (the bottom of the image).

    Returns
    -------
    numpy.ndarray
        Shape ``(ceil(NAXIS2 / factor), ceil(NAXIS1 / factor))``.
    """
    _check_ext(ext)
    src = _Source(source, ext)
    try:
        img = src.image
        f = _factor(img, size, factor)
        if src.mapped:
            # The common case in one kernel call: small files are bound by
            # per-call overhead.
            out = np.empty((-(-img.height // f), -(-img.width // f)), np.float32)
            has_blank, blank = _blank_arg(img.blank)
            _rows.scale_fd(src.stream.fileno(),
                           src.data_offset + img.plane_offset(plane), 0, img.height,
                           img.pixtype, img.width, f, has_blank, blank, img.bscale,
                           img.bzero, out, src.path)
            return out
        chunks = list(src.chunks(f, plane, img.height))
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    finally:
        src.close()


def iterScaledRows(inFile, factor=None, destSize=None, hdr=None, slow=False,
                   extInd=0):
    """DaCHS-compatible streaming downscaler (``gavo.utils.fitstools``).

    Keeps DaCHS's factor rule ``max(NAXIS1, NAXIS2) // destSize + 1`` and
    drops the remainder rows and columns, so on data without NaN or BLANK
    the numbers equal DaCHS's (up to float32 rounding, which DaCHS does in
    its accumulation and fitsmill does not).  Unlike DaCHS, BLANK and NaN
    pixels are left out of the means and every input (gzip, compressed,
    file objects) streams with bounded memory.

    Parameters
    ----------
    inFile : str, os.PathLike or binary file
        With ``hdr`` given, an open file positioned at the data.
    factor : int, optional
        Block edge; wins over ``destSize``.
    destSize : int, optional
        Output size bound used when ``factor`` is not given.
    hdr : header, optional
        The header of the data at ``inFile``'s position (astropy or
        fitsmill Header); ignored when ``inFile`` is a path.
    slow : bool
        Ignored; kept for compatibility (every path streams).
    extInd : int
        HDU index; 0 also finds a compressed image behind an empty primary.

    Yields
    ------
    numpy.ndarray
        float32 rows of ``NAXIS1 // factor`` pixels, ``NAXIS2 // factor``
        of them, first FITS row first.
    """
    del slow
    if factor is None and destSize is None:
        raise ValueError("iterScaledRows needs either factor or destSize.")
    if factor is None and int(destSize) < 1:
        raise ValueError(f"destSize must be positive, not {destSize!r}")

    def factor_of(img):
        if factor is not None:
            return _factor(img, None, factor)
        return max(1, max(img.width, img.height) // int(destSize) + 1)

    ext = None if extInd == 0 else extInd
    _check_ext(ext)
    if isinstance(inFile, (str, os.PathLike)):
        hdr = None
    return _iter_rows(inFile, factor_of, ext, 0, crop=True, hdr=hdr)
