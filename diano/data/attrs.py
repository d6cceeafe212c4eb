"""HDF5 attribute values of the data files: scalars stored as they are, nested values as JSON.

HDF5 attributes hold scalars and strings; dicts, lists, arrays and None are stored as JSON
strings, and the names of those attributes are listed in the file attribute ``json_attrs``
so that the reader decodes exactly those (a plain string that looks like JSON stays a string).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from diano.errors import DataError


def encode_attr(key: str, value: Any) -> tuple[Any, bool]:
    """Return an HDF5-storable value and whether it was JSON-encoded.

    Raises:
        DataError: for values that are neither scalars nor JSON-serialisable containers.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, bool, int, float)):
        return value, False
    if value is None or isinstance(value, (Mapping, list, tuple, np.ndarray)):
        try:
            return json.dumps(jsonable(value), sort_keys=True), True
        except (TypeError, ValueError) as exc:
            raise DataError(f"attribute {key!r} cannot be stored as JSON: {exc}") from exc
    raise DataError(
        f"attribute {key!r} has type {type(value).__name__}; use str, int, float, bool, "
        "or dicts/lists of those"
    )


def jsonable(value: Any) -> Any:
    """Convert numpy arrays and scalars inside nested dicts/lists to plain Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def decode_attrs(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Decode a file's attributes: JSON ones parsed, numpy values made plain.

    The format's own ``stats`` and ``json_attrs`` are left out (the reader handles them).

    Raises:
        DataError: naming ``where`` and the attribute that is not valid JSON.
    """
    try:
        json_keys = set(json.loads(plain(raw.get("json_attrs", "[]"))))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: attribute 'json_attrs' is not valid JSON") from exc
    attrs = {}
    for key, value in raw.items():
        if key in ("stats", "json_attrs"):
            continue
        value = plain(value)
        if key in json_keys:
            try:
                value = json.loads(value)
            except (TypeError, ValueError) as exc:
                raise DataError(f"{where}: attribute {key!r} is not valid JSON") from exc
        attrs[key] = value
    return attrs


def plain(value: Any) -> Any:
    """Turn an h5py attribute value (bytes, numpy scalar or array) into a Python value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
