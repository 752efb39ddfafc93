"""HTML contact sheets of a preview directory.

:func:`write_gallery` writes static pages of ``page_size`` previews each
(``index.html``, ``index-2.html``, ...) next to the chosen output file,
linked by first / previous / next / last navigation, so that 10^5
previews make 500 light pages instead of one page the browser chokes on.
Images carry ``loading="lazy"`` and sit in fixed-size boxes, so a page
lays out at once and only fetches what scrolls into view.  A preview that
fails to load is outlined and labelled "missing".

Each preview is captioned with its accref (decoded from the file name by
the naming policy) and, when the inputs directory is given and the source
is a readable FITS file, its OBJECT, DATE-OBS and image size.
"""

import dataclasses
import html
import os
import urllib.parse

from fitsmill.atomic import atomic_write
from fitsmill.naming import NamingPolicy, accref_from_flat_name

__all__ = ["GalleryItem", "collect_previews", "describe_source", "write_gallery",
           "page_name"]

#: suffixes the "auto" policy accepts as previews, besides flat names
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".gif", ".webp")


@dataclasses.dataclass
class GalleryItem:
    """One preview of a gallery.

    Attributes
    ----------
    path : str
        The preview file.
    rel : str
        Its path relative to the preview directory, ``/``-separated.
    accref : str
        The accref it belongs to (the file name when it cannot be decoded).
    facts : dict
        Caption facts from the source header (OBJECT, DATE-OBS, size).
    """

    path: str
    rel: str
    accref: str
    facts: dict = dataclasses.field(default_factory=dict)


def _auto_accref(rel):
    if "/" not in rel:
        accref = accref_from_flat_name(rel)
        if accref is not None:
            return accref
    stem, suffix = os.path.splitext(rel)
    return stem if suffix.lower() in IMAGE_SUFFIXES else None


def collect_previews(preview_dir, naming="auto"):
    """Find the previews in a directory tree, sorted by accref.

    Parameters
    ----------
    preview_dir : str or os.PathLike
        The preview directory.
    naming : str, optional
        ``"standard"``, ``"split:EXT"`` or ``"auto"`` (default): flat
        DaCHS names at the top level, and any file with an image suffix
        (:data:`IMAGE_SUFFIXES`), whose accref is its relative path
        without the suffix.

    Returns
    -------
    list of GalleryItem
        Hidden files (temporary files of a running preview job) and files
        that are not previews of the policy are left out.
    """
    preview_dir = os.fspath(preview_dir)
    if not os.path.isdir(preview_dir):
        raise FileNotFoundError(f"{preview_dir}: no such preview directory")
    policy = None if naming == "auto" else NamingPolicy(naming)
    items = []
    top = len(preview_dir.rstrip(os.sep)) + 1
    for root, dirs, files in os.walk(preview_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # String slicing, not os.path.relpath: this loop may see 10^6 files.
        prefix = root[top:].replace(os.sep, "/")
        prefix = prefix + "/" if prefix else ""
        for name in files:
            if name.startswith("."):
                continue
            rel = prefix + name
            accref = _auto_accref(rel) if policy is None \
                else policy.accref_from_relative(rel)
            if accref is not None:
                items.append(GalleryItem(os.path.join(root, name), rel, accref))
    items.sort(key=lambda item: item.accref)
    return items


def describe_source(path):
    """Caption facts from a FITS source: OBJECT, DATE-OBS and image size.

    Parameters
    ----------
    path : str
        The source file.

    Returns
    -------
    dict
        Keys ``object``, ``date_obs``, ``size`` (e.g. ``"1024 x 1024"``)
        where known; empty when the file is missing or not FITS.
    """
    from fitsmill.errors import FitsFormatError

    facts = {}
    try:
        for header, xtension in _headers(path):
            for key, name in (("OBJECT", "object"), ("DATE-OBS", "date_obs")):
                value = header.get(key)
                if value not in (None, "") and name not in facts:
                    facts[name] = str(value).strip()
            prefix = "ZNAXIS" if header.get("ZIMAGE") is True else "NAXIS"
            naxis = int(header.get(prefix, 0) or 0)
            if naxis and (prefix == "ZNAXIS" or xtension in (None, "IMAGE")):
                dims = [str(header.get(f"{prefix}{i}")) for i in range(1, naxis + 1)]
                facts["size"] = " x ".join(dims)
                break
    except (OSError, EOFError, FitsFormatError, ValueError, TypeError):
        pass
    return facts


def _headers(path):
    """Yield (header, XTENSION or None) of a FITS file's HDUs; of a gzipped
    file only the primary header is read (it cannot be skipped through)."""
    from fitsmill import fitsfile

    if path.endswith(".gz"):
        import gzip

        from fitsmill.header import Header

        with gzip.open(path, "rb") as stream:
            yield Header.fromstring(fitsfile.read_header_bytes(stream, path)), None
        return
    for info in fitsfile.iter_hdus(path):
        yield info.header, info.xtension and info.xtension.strip()


def page_name(output, page):
    """File name of page ``page`` (1-based) of a gallery written to ``output``."""
    if page == 1:
        return os.path.basename(output)
    stem, suffix = os.path.splitext(os.path.basename(output))
    return f"{stem}-{page}{suffix or '.html'}"


_CSS = """
body { font-family: sans-serif; margin: 1em; background: #f4f4f4; color: #222; }
header { display: flex; gap: 1.5em; align-items: baseline; flex-wrap: wrap; }
nav a, nav span { margin-right: 0.6em; }
main { display: flex; flex-wrap: wrap; gap: 10px; margin: 1em 0; }
figure { margin: 0; width: 210px; background: #fff; padding: 5px;
         box-shadow: 0 1px 2px #0003; }
figure img { display: block; width: 200px; height: 200px; object-fit: contain;
             background: #ddd; }
figcaption { font-size: 11px; line-height: 1.3; margin-top: 4px;
             overflow-wrap: anywhere; }
figcaption .facts { color: #555; }
figure.broken { outline: 2px dashed #c00; }
figure.broken figcaption::before { content: "missing: "; color: #c00; }
"""


def _nav(output, page, pages):
    def link(target, text):
        if target == page or not 1 <= target <= pages:
            return f"<span>{text}</span>"
        return f'<a href="{html.escape(page_name(output, target))}">{text}</a>'

    return (f"<nav>{link(1, '&laquo; first')}{link(page - 1, '&lsaquo; previous')}"
            f"<span>page {page} of {pages}</span>"
            f"{link(page + 1, 'next &rsaquo;')}{link(pages, 'last &raquo;')}</nav>")


def _figure(item, base):
    src = urllib.parse.quote(base + item.rel)
    label = html.escape(item.accref)
    facts = " &middot; ".join(html.escape(item.facts[k])
                              for k in ("object", "date_obs", "size") if k in item.facts)
    facts_html = f'<br><span class="facts">{facts}</span>' if facts else ""
    return (f'<figure><a href="{src}"><img src="{src}" alt="{label}" loading="lazy" '
            f'decoding="async" onerror="this.closest(\'figure\').classList.add(\'broken\')">'
            f"</a><figcaption>{label}{facts_html}</figcaption></figure>")


def _page(title, output, page, pages, items, total, base):
    nav = _nav(output, page, pages)
    figures = "\n".join(_figure(item, base) for item in items)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)} ({page}/{pages})</title>"
            f"<meta name=\"viewport\" content=\"width=device-width\">"
            f"<style>{_CSS}</style></head><body>\n"
            f"<header><h1>{html.escape(title)}</h1><span>{total} previews</span>"
            f"{nav}</header>\n<main>\n{figures}\n</main>\n<footer>{nav}</footer>\n"
            f"</body></html>\n")


def write_gallery(preview_dir, output, *, naming="auto", inputs_dir=None,
                  page_size=200, title=None):
    """Write an HTML contact sheet of the previews in ``preview_dir``.

    Parameters
    ----------
    preview_dir : str or os.PathLike
        The preview directory.
    output : str or os.PathLike
        The first page; further pages go next to it as ``STEM-2.html`` etc.
        Image links are relative, so the pages and previews can move
        together.
    naming : str, optional
        The naming policy of the previews (see :func:`collect_previews`).
    inputs_dir : str or os.PathLike, optional
        Where the sources live (accref = inputs-relative path); when given,
        captions show OBJECT / DATE-OBS / size from the FITS headers.
    page_size : int, optional
        Previews per page.
    title : str, optional
        Page title; by default the preview directory's name.

    Returns
    -------
    list of str
        The pages written (at least one, even for an empty directory).
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, not {page_size}")
    output = os.fspath(output)
    out_dir = os.path.dirname(os.path.abspath(output))
    items = collect_previews(preview_dir, naming)
    if inputs_dir is not None:
        for item in items:
            item.facts = describe_source(os.path.join(inputs_dir, item.accref))
    title = title or os.path.basename(os.path.abspath(preview_dir)) or "previews"
    base = os.path.relpath(os.path.abspath(preview_dir), out_dir).replace(os.sep, "/")
    base = "" if base == "." else base + "/"
    pages = max(1, -(-len(items) // page_size))
    written = []
    for page in range(1, pages + 1):
        chunk = items[(page - 1) * page_size:page * page_size]
        path = os.path.join(out_dir, page_name(output, page))
        text = _page(title, output, page, pages, chunk, len(items), base)
        atomic_write(path, text.encode("utf-8"), fsync=False)
        written.append(path)
    return written
