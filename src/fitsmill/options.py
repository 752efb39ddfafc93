"""An argparse parser that also accepts optparse's ``add_option`` calls.

DaCHS processors declare their options in ``addOptions(parser)`` with
optparse-style calls such as::

    parser.add_option("--cat-name", help="Resdir-relative path to"
        " the plate catalogue", action="store", type="str",
        dest="catPath", default="res/plates.cat")

:class:`OptionParser` translates those to ``add_argument`` (type names,
``%default`` in help texts, ``callback`` actions), so such code runs
unchanged, while new code can use argparse directly.  Options defined again
by a subclass replace the earlier definition, so a subclass may change a
built-in option's default or help.
"""

import argparse

__all__ = ["OptionParser"]

_TYPES = {"string": str, "str": str, "int": int, "long": int, "float": float,
          "complex": complex, "choice": None}


def _help_text(text):
    # argparse %-formats help strings; optparse only knew %default and %prog.
    if text is None or text is argparse.SUPPRESS:
        return text
    return (text.replace("%", "%%").replace("%%default", "%(default)s")
            .replace("%%prog", "%(prog)s"))


class _CallbackAction(argparse.Action):
    """optparse's ``action="callback"``: calls
    ``callback(option, opt_str, value, parser, *args, **kwargs)``."""

    def __init__(self, option_strings, dest, callback=None, callback_args=(),
                 callback_kwargs=None, nargs=0, **kwargs):
        super().__init__(option_strings, dest, nargs=nargs, **kwargs)
        self.callback = callback
        self.callback_args = tuple(callback_args or ())
        self.callback_kwargs = dict(callback_kwargs or {})

    def __call__(self, parser, namespace, values, option_string=None):
        # optparse callbacks reach the values under construction as
        # parser.values.
        parser.values = namespace
        if isinstance(values, list) and self.nargs in (None, 1):
            values = values[0]
        elif isinstance(values, list) and not values:
            values = None
        self.callback(self, option_string, values, parser,
                      *self.callback_args, **self.callback_kwargs)


class OptionParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with optparse's ``add_option``.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`argparse.ArgumentParser`; ``conflict_handler``
        defaults to ``"resolve"`` (a later definition of an option wins).
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("conflict_handler", "resolve")
        if "usage" in kwargs and kwargs["usage"]:
            kwargs["usage"] = kwargs["usage"].replace("%prog", "%(prog)s")
        super().__init__(*args, **kwargs)

    def add_option(self, *opts, **kwargs):
        """Declare an option with optparse's keyword arguments.

        Parameters
        ----------
        *opts : str
            Option strings, e.g. ``"--n-procs", "-j"``.
        **kwargs
            optparse keywords: ``action``, ``type`` (a name such as
            ``"int"`` or a callable), ``dest``, ``default``, ``help``,
            ``metavar``, ``choices``, ``nargs``, ``const``, ``callback``,
            ``callback_args``, ``callback_kwargs``.

        Returns
        -------
        argparse.Action
            The action argparse created.
        """
        kwargs = dict(kwargs)
        action = kwargs.get("action", "store")
        type_ = kwargs.pop("type", None)
        if isinstance(type_, str):
            try:
                type_ = _TYPES[type_]
            except KeyError:
                raise ValueError(f"add_option {opts}: unknown optparse type"
                                 f" {type_!r}") from None
        if type_ is not None:
            kwargs["type"] = type_
        if "help" in kwargs:
            kwargs["help"] = _help_text(kwargs["help"])
        if action == "callback":
            kwargs["action"] = _CallbackAction
            if type_ is not None and "nargs" not in kwargs:
                kwargs["nargs"] = 1
            kwargs.setdefault("default", argparse.SUPPRESS)
        elif action == "store" and kwargs.get("nargs") == 1:
            # optparse stores a scalar for nargs=1; argparse would store a list.
            del kwargs["nargs"]
        return self.add_argument(*opts, **kwargs)
