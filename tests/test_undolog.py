"""The undo log's records: what :class:`fitsmill.undolog.UndoLog` writes,
read back with the json module (the oracle), for texts and bytes that JSON
must escape and for the plain ones written without the json machinery."""

import hashlib
import json
import os

import pytest

from fitsmill import undolog

PATHS = ["/data/plate 1.fits", 'quote".fits', "back\\slash.fits", "tab\t.fits",
         "caf\u00e9.fits", "del\x7f.fits", "/"]
HEADERS = [b"SIMPLE  =                    T" + b" " * 50,
           b'OBJECT  = \'say "hi"\'' + b" " * 59,
           b"NOTE    = 'back\\slash'" + b" " * 58,
           b"\x00\x1f\x7f\x80\xff" + b" " * 75]


def _records(log):
    with open(log.path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("old", HEADERS)
@pytest.mark.parametrize("tmp", [None, "/data/.plate 1.fits.tmp", 'odd".tmp'])
def test_begin_record_reads_back(tmp_path, path, old, tmp):
    st = os.stat(tmp_path)
    new = old.replace(b" ", b"x", 1)
    with undolog.UndoLog(tmp_path / "logs", fsync=False) as log:
        seq = log.begin(path, 2880, old, new, st, "rewrite", tmp)
        log.done(seq, st)
        log.done_many([(seq, st)])
        log.void(seq)
        many = log.begin_many([(path, 0, old, new, st, "in place", None)] * 2)
        records = _records(log)
    assert many == [seq + 1, seq + 2]
    begin = records[0]
    assert begin == {"op": "begin", "seq": seq, "path": path, "offset": 2880,
                     "how": "rewrite", "tmp": tmp, "old": old.decode("latin-1"),
                     "new_size": len(new), "new_sha256": begin["new_sha256"],
                     "id": undolog.identity(st)}
    assert begin["new_sha256"] == hashlib.sha256(new).hexdigest()
    assert records[1] == records[2] == {"op": "done", "seq": seq, "id": undolog.identity(st)}
    assert records[3] == {"op": "void", "seq": seq}
    assert [r["seq"] for r in records[4:]] == many
    assert all(r["path"] == path and r["how"] == "in place" and r["tmp"] is None
               for r in records[4:])


@pytest.mark.parametrize("text", PATHS + ["", "plain", "x" * 300])
def test_json_text_is_json(text):
    assert undolog._json_text(text) == json.dumps(text)
