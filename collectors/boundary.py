"""The ingest trust boundary: what a sender's document may say, in the shape Elasticsearch will read it.

A collector host is outside the central force's control, so its documents are hostile. Elasticsearch reads a
dotted key (``"organization.id"``) as a path into objects, at any depth and inside arrays of objects; if a
document reached it with both ``organization: {...}`` and ``"organization.id"``, overwriting the object would
leave the dotted copy standing. So every document is first rewritten here into plain nested objects (one
spelling per field), with its size bounded, and only then does the ingest write the server-owned fields
(``SERVER_OWNED``) over whatever the sender put there.

A document that cannot be read one way (``{"a": 1, "a.b": 2}``: ``a`` both a value and an object; an empty
name; more fields or levels than the bounds) is refused with the reason, never guessed at.
"""

from __future__ import annotations

import re
from typing import Any

from collectors.agent import jsonfast

# Whole objects only the server writes (from the collector's credential and the ingest itself), and the one
# server-owned field inside an object the sender fills (``event.ingested``).
SERVER_OWNED = ("organization", "agent", "soc")
SERVER_OWNED_EVENT_FIELD = "ingested"


class ShapeError(ValueError):
    """The document cannot be stored as sent; the message says why (it reaches the collector's answer)."""


class _Walk:
    """One document's walk: the leaf budget left and the depth bound."""

    __slots__ = ("left", "max_depth", "max_fields")

    def __init__(self, max_fields: int, max_depth: int) -> None:
        self.left, self.max_fields, self.max_depth = max_fields, max_fields, max_depth

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ShapeError(f"more than {self.max_fields} fields in one event")


# A key with a dot, as ``jsonfast`` writes it (``"a.b":``), found by its last dot: a dot followed by anything but
# a dot, a quote or a backslash up to ``":``, which only the end of a key is. Keys it escapes (holding a quote, a
# backslash or a control character) may be missed, and need not be found: a path part holding one of those is
# never part of a server-owned path, and the template refuses new names inside the server-owned objects.
# Linear: no dot is scanned past twice (a greedy ``[^"]*`` after the dot made a 300 KB value of dots take minutes).
_DOTTED_KEY = re.compile(rb'\.[^"\\.]*":')
_KEY = b'":'


def normalised(doc: dict[str, Any], *, max_fields: int, max_depth: int) -> dict[str, Any]:
    """``doc`` with every dotted key merged into nested objects, at every level (arrays included).

    Raises ShapeError when it is ambiguous or over the bounds. This runs for every event, so it first reads the
    document's serialised form (C speed): a document without dotted keys and without room for too many fields
    (all that the agent's parsers make) is returned as it is, its nesting bounded by the index (20 levels).
    Any other is walked in Python: its leaves counted exactly, its nesting bounded by ``max_depth`` before the
    walk recurses, its dotted keys merged.
    """
    if is_plain(jsonfast.dumps(doc), max_fields=max_fields):
        return doc
    return _object(doc, 1, _Walk(max_fields, max_depth))


def is_plain(serialised: bytes, *, max_fields: int, length: int = 0) -> bool:
    """Whether a document, as ``jsonfast`` serialised it, is one ``normalised`` returns as it is: no dotted key and
    too few keys to hold more than ``max_fields`` fields.

    It also holds for any document whose keys and values all appear in these bytes and whose own serialised length
    is at most ``length`` (0: these bytes' length): the ingest checks what it would store, the sender's document
    with the server's fields added, for the sender's document.
    """
    # Every key ends in ``":`` (so do escaped quotes inside values: an upper bound), and takes at least four
    # bytes: a document that passes either cheap test cannot hold too many fields, and is not counted again.
    crowded = max(length, len(serialised)) > 4 * max_fields and serialised.count(_KEY) > max_fields
    return not crowded and _DOTTED_KEY.search(serialised) is None


def _object(obj: dict[str, Any], depth: int, walk: _Walk) -> dict[str, Any]:
    if depth > walk.max_depth:
        raise ShapeError(f"fields nested deeper than {walk.max_depth} levels")
    dotted = False
    leaves = 0
    for key, value in obj.items():
        below = depth + 1
        if "." in key:
            dotted = True
            below += key.count(".")  # "a.b": value sits one level deeper once merged
        kind = type(value)
        if kind is dict:
            obj[key] = _object(value, below, walk)  # same key: the dict's size does not change
        elif kind is list:
            _array(value, below, walk)
        else:
            leaves += 1
    walk.spend(leaves)
    return _merged(obj, depth, walk) if dotted else obj


def _array(items: list[Any], depth: int, walk: _Walk) -> None:
    """Elasticsearch flattens objects inside arrays into the array's own path: they are walked the same."""
    if depth > walk.max_depth:
        raise ShapeError(f"fields nested deeper than {walk.max_depth} levels")
    leaves = 0
    for pos, item in enumerate(items):
        kind = type(item)
        if kind is dict:
            items[pos] = _object(item, depth, walk)
        elif kind is list:
            _array(item, depth + 1, walk)
        else:
            leaves += 1
    walk.spend(leaves)


def _merged(obj: dict[str, Any], depth: int, walk: _Walk) -> dict[str, Any]:
    """A copy of ``obj`` (its values already normalised) with dotted keys turned into nested objects."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = key.split(".")
        if "" in path:
            raise ShapeError(f"field name {key[:100]!r} has an empty part")
        if depth + len(path) - 1 > walk.max_depth:
            raise ShapeError(f"fields nested deeper than {walk.max_depth} levels")
        _put(out, path, value, key)
    return out


def _put(node: dict[str, Any], path: list[str], value: Any, key: str) -> None:
    for name in path[:-1]:
        child = node.setdefault(name, {})
        if type(child) is not dict:
            raise ShapeError(f"field {key[:100]!r} is both a value and an object")
        node = child
    leaf = path[-1]
    if leaf not in node:
        node[leaf] = value
    elif type(node[leaf]) is dict and type(value) is dict:
        _merge_objects(node[leaf], value, key)
    else:
        raise ShapeError(f"field {key[:100]!r} is given twice (dotted and nested)")


def _merge_objects(into: dict[str, Any], other: dict[str, Any], key: str) -> None:
    for name, value in other.items():
        _put(into, [name], value, f"{key}.{name}")
