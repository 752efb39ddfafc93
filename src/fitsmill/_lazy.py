"""Lazy attribute maps for namespace modules (api, compat.*).

Importing ``fitsmill.api`` must stay cheap (a processor script imports it
before parsing its options), so names are resolved on first use.
"""

import importlib

__all__ = ["install_lazy_names"]


def install_lazy_names(namespace, mapping):
    """Give a module lazily resolved public names.

    Parameters
    ----------
    namespace : dict
        The module's ``globals()``; ``__getattr__``, ``__dir__`` and
        ``__all__`` are set in it.
    mapping : dict
        Public name -> ``"package.module"`` (the module itself) or
        ``"package.module:attribute"``.
    """
    module_name = namespace["__name__"]
    public = sorted(mapping)

    def __getattr__(name):
        try:
            target = mapping[name]
        except KeyError:
            raise AttributeError(
                f"module {module_name!r} has no attribute {name!r}") from None
        mod_name, _, attr = target.partition(":")
        mod = importlib.import_module(mod_name)
        return getattr(mod, attr) if attr else mod

    namespace.update(__getattr__=__getattr__, __dir__=lambda: public,
                     __all__=public)
