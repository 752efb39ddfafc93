"""DaCHS's ``gavo.utils.fitstools``: the names scripts use, resolved lazily to fitsmill."""

from fitsmill._lazy import install_lazy_names

_NAMES = {
    "iterScaledRows": "fitsmill.scaledrows:iterScaledRows",
    "sortHeaders": "fitsmill.headerproc:sortHeaders",
    "replacePrimaryHeaderInPlace": "fitsmill.fitsfile:replacePrimaryHeaderInPlace",
    "readPrimaryHeaderQuick": "fitsmill.fitsfile:readPrimaryHeaderQuick",
    "shrinkWCSHeader": "fitsmill.shrink:shrinkWCSHeader",
    "iterScaledBytes": "fitsmill.shrink:iterScaledBytes",
}

install_lazy_names(globals(), _NAMES)
