"""Carry data a processor gathers on ``self`` from workers back to the parent.

With ``-j`` or Dask, ``process`` runs on copies of the processor in other
processes.  Before each chunk of sources a worker takes a :func:`snapshot`
of the processor's public attributes; afterwards :func:`diff` describes what
changed, the delta travels to the parent, and the parent's
``mergeWorkerState`` applies it with :func:`merge` in source order.  The
rules, applied recursively inside dicts:

* lists: items appended are appended (a list that was replaced or shrunk
  replaces the parent's);
* sets: new members are added;
* numbers (not bools): the change is added, so counters sum up;
* dicts (``Counter`` and ``defaultdict`` included): new keys are merged into
  the parent's value for that key by the same rules, changed values by
  their change;
* anything else (strings, tuples, bools, None, other objects): a new value
  replaces the parent's.

Attributes whose names start with an underscore are worker-local and never
travel, nor do objects that cannot be pickled (open files, connections).
"""

__all__ = ["snapshot", "diff", "merge", "UNCHANGED"]

_MUTABLE = (list, dict, set)


class _Unchanged:
    def __repr__(self):
        return "UNCHANGED"

    def __reduce__(self):
        return "UNCHANGED"


#: What :func:`diff` returns for a value that did not change.
UNCHANGED = _Unchanged()


class _Snap:
    """The remembered state of a mutable container."""
    __slots__ = ("obj_id", "data")

    def __init__(self, obj_id, data):
        self.obj_id = obj_id
        self.data = data


def _snap(value):
    if isinstance(value, list):
        return _Snap(id(value), len(value))
    if isinstance(value, dict):
        return _Snap(id(value), {k: (_snap(v) if isinstance(v, _MUTABLE) else v)
                                 for k, v in value.items()})
    if isinstance(value, set):
        return _Snap(id(value), set(value))
    return value


def snapshot(attrs):
    """Remember the state of a processor's public attributes.

    Parameters
    ----------
    attrs : dict
        Attribute name -> value (typically ``vars(processor)`` filtered).

    Returns
    -------
    dict
        An opaque snapshot for :func:`diff`.
    """
    return {name: _snap(value) for name, value in attrs.items()}


def _is_number(value):
    return isinstance(value, (int, float, complex)) and not isinstance(value, bool)


def _value_diff(old, new):
    if isinstance(old, _Snap):
        if id(new) != old.obj_id:
            return ("new", new)
        if isinstance(new, list):
            if len(new) < old.data:
                return ("new", new)
            return ("extend", new[old.data:]) if len(new) > old.data else UNCHANGED
        if isinstance(new, set):
            added = new - old.data
            return ("union", added) if added else UNCHANGED
        changes = {}
        for key, value in new.items():
            if key not in old.data:
                changes[key] = ("merge", value)
            else:
                change = _value_diff(old.data[key], value)
                if change is not UNCHANGED:
                    changes[key] = change
        return ("dict", changes) if changes else UNCHANGED
    if new is old:
        return UNCHANGED
    if _is_number(old) and _is_number(new):
        return ("add", new - old) if new != old else UNCHANGED
    try:
        if type(new) is type(old) and new == old:
            return UNCHANGED
    except Exception:  # noqa: BLE001 -- odd __eq__; treat as changed
        pass
    return ("new", new)


def diff(snap, attrs):
    """Describe how attributes changed since :func:`snapshot`.

    Parameters
    ----------
    snap : dict
        From :func:`snapshot`.
    attrs : dict
        The attributes now.

    Returns
    -------
    dict
        Attribute name -> change, only for changed attributes.
    """
    changes = {}
    for name, value in attrs.items():
        change = (_value_diff(snap[name], value) if name in snap
                  else ("merge", value))
        if change is not UNCHANGED:
            changes[name] = change
    return changes


def _merge_into(target, value):
    """Merge a value that started empty in the worker into ``target``."""
    if isinstance(target, list) and isinstance(value, list):
        target.extend(value)
        return target
    if isinstance(target, set) and isinstance(value, set):
        target |= value
        return target
    if isinstance(target, dict) and isinstance(value, dict):
        for key, item in value.items():
            target[key] = _merge_into(target[key], item) if key in target else item
        return target
    if _is_number(target) and _is_number(value):
        return target + value
    return value


def _apply(target, change, missing):
    kind, payload = change
    if kind == "add":
        return payload if missing else target + payload
    if kind == "extend":
        if missing or not isinstance(target, list):
            return list(payload)
        target.extend(payload)
        return target
    if kind == "union":
        if missing or not isinstance(target, set):
            return set(payload)
        target |= payload
        return target
    if kind == "dict":
        if missing or not isinstance(target, dict):
            target = {}
        for key, sub in payload.items():
            present = key in target
            target[key] = _apply(target[key] if present else None, sub, not present)
        return target
    if kind == "merge":
        return payload if missing else _merge_into(target, payload)
    return payload


def merge(obj, changes):
    """Apply changes from :func:`diff` to ``obj``'s attributes.

    Parameters
    ----------
    obj : object
        The parent-side processor.
    changes : dict
        From :func:`diff`.
    """
    state = vars(obj)
    for name, change in changes.items():
        present = name in state
        setattr(obj, name, _apply(state[name] if present else None, change,
                                  not present))
