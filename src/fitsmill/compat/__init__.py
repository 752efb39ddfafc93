"""DaCHS module namespaces (``gavo.utils.fitstools``, ``imgtools``,
``gavo.helpers.fitstricks``) mapped onto fitsmill's implementations."""
