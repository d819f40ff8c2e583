"""Python values as a run's config and history keep them, converted as wandb converts them.

Training code hands ``config``, ``log`` and ``summary`` numpy scalars and arrays, tensors,
paths, dates and enums; wandb turns them into JSON values on the way in, and so does
Cairn, with wandb's rules:

- config (``wandb_config.Config._sanitize``): non-builtin objects become their ``str``,
  NaN becomes None, tuples and sets lists, dataclasses and slices dicts.
- history and summary (``history_dict_to_json`` and its JSON encoder): NaN and infinities
  stay floats; a numpy array of more than 32 values becomes a 32-bin histogram
  (``{"_type": "histogram", "values", "bins"}``); an object JSON cannot hold is a
  ``TypeError``, as wandb's encoder raises.

Both turn numpy scalars and arrays (and torch tensors, and anything with ``tolist``) into
plain numbers and lists without importing numpy themselves, so ``import cairn`` stays
light. Media values (``cairn.Table``, ``cairn.Image``, ...) cannot be part of a config
(wandb: ``TypeError``); in a history row they are refused with ``MediaValueError`` (the
caller leaves the key out with a warning: Cairn does not store media in run history).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from collections.abc import Mapping
from typing import Any

from cairn.media._base import WBValue

_HISTOGRAM_THRESHOLD = 32  # wandb: arrays larger than this are logged as histograms
_HISTOGRAM_BINS = 32


class MediaValueError(TypeError):
    """A media value (``cairn.Table``, ``cairn.Image``, ...) where a history value goes."""


def _module(value: object) -> str:
    return type(value).__module__ or ""


def _tensor_list(value: Any) -> Any:
    """A torch or TensorFlow tensor as numbers (``tolist`` of its CPU copy)."""
    if _module(value).startswith("torch"):
        return value.detach().cpu().tolist()
    return value.numpy().tolist()


def _is_tensor(value: object) -> bool:
    module = _module(value)
    if module.startswith("torch"):
        return hasattr(value, "detach")
    return module.startswith("tensorflow") and hasattr(value, "numpy")


def _is_array(value: object) -> bool:
    """A numpy array or scalar, or anything else outside the builtins with ``tolist``."""
    return _module(value) != "builtins" and callable(getattr(value, "tolist", None))


def _common(value: Any) -> tuple[bool, Any]:
    """The conversions config and history share: ``(True, converted)`` or ``(False, value)``."""
    if isinstance(value, bytes):
        return True, value.decode("utf-8")
    if isinstance(value, datetime.datetime | datetime.date):
        return True, value.isoformat()
    if isinstance(value, enum.Enum):
        return True, value.name
    if isinstance(value, set | frozenset):
        return True, list(value)
    if isinstance(value, slice):
        return True, {
            "slice_start": value.start,
            "slice_step": value.step,
            "slice_stop": value.stop,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return True, dataclasses.asdict(value)
    return False, value


def config_value(value: Any) -> Any:
    """``value`` as a config holds it (wandb's ``json_friendly_val``, see module doc).

    Raises: TypeError for a media value (``WBValue objects cannot be added to the run
    config``, wandb's message).
    """
    if isinstance(value, WBValue):
        raise TypeError("WBValue objects cannot be added to the run config")
    if isinstance(value, Mapping):
        return {key: config_value(item) for key, item in value.items()}
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, list | tuple):
        return [config_value(item) for item in value]
    if _is_tensor(value):
        return config_value(_tensor_list(value))
    if _is_array(value):
        return config_value(value.tolist())
    converted, result = _common(value)
    if converted:
        return config_value(result)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def history_value(value: Any) -> Any:
    """``value`` as a history row or the summary holds it (see module doc).

    Raises:
        MediaValueError: a media value, or a list of them.
        TypeError: a value JSON cannot hold (``Object of type X is not JSON serializable``).
    """
    if isinstance(value, WBValue):
        raise MediaValueError(f"{type(value).__name__} values cannot be logged to run history")
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: history_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [history_value(item) for item in value]
    if _is_tensor(value):
        return history_value(_tensor_list(value))
    if _is_array(value):
        size = getattr(value, "size", 1)
        if isinstance(size, int) and size > _HISTOGRAM_THRESHOLD and _module(value) == "numpy":
            return _histogram(value)
        return history_value(value.tolist())
    converted, result = _common(value)
    if converted:
        return history_value(result)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _histogram(array: Any) -> dict[str, Any]:
    """wandb's ``Histogram(array, num_bins=32).to_json()``."""
    import numpy  # noqa: PLC0415 - numpy is optional

    values, bins = numpy.histogram(array, bins=_HISTOGRAM_BINS)
    return {"_type": "histogram", "values": values.tolist(), "bins": bins.tolist()}
