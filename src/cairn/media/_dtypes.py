"""The column type system of ``Table`` (wandb ``data_types/_dtypes.py``), JSON-compatible.

A table keeps one type per column (a ``typedDict`` of them); each added row is *assigned*
to it, which either refines the type (``unknown`` becomes ``number``) or fails, and a
failing row is refused. The JSON form (``{"wb_type": ..., "params": ...}``) is what wandb
writes as ``column_types``, including its quirks: optional columns are unions with ``none``,
union members are sorted by their repr, and numpy scalars count as numbers. Media column
types (``image-file``, ...) are registered by the media modules through :func:`add`.
"""

from __future__ import annotations

import datetime
import math
import sys
from typing import Any, ClassVar

_NUMPY_NUMBERS = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128",
)  # fmt: skip
_BY_NAME: dict[str, type[Type]] = {}
_BY_CLASS: dict[type, type[Type]] = {}


def add(wb_type: type[Type]) -> type[Type]:
    """Register a type class by its name(s) and the Python classes it describes."""
    _BY_NAME[wb_type.name] = wb_type
    for legacy in wb_type.legacy_names:
        _BY_NAME[legacy] = wb_type
    for cls in wb_type.types:
        _BY_CLASS[cls] = wb_type
    return wb_type


def _numpy_classes() -> None:
    """Register numpy scalar and array classes, if numpy is already imported."""

    np = sys.modules.get("numpy")
    if np is None or np.ndarray in _BY_CLASS:
        return
    for name in _NUMPY_NUMBERS:
        _BY_CLASS[getattr(np, name)] = NumberType
    _BY_CLASS[np.bool_] = BooleanType
    _BY_CLASS[np.datetime64] = TimestampType
    _BY_CLASS[np.ndarray] = NDArrayType


def type_of(obj: Any) -> Type:
    """The most specific type of a Python value (NaN counts as ``none``)."""
    if obj.__class__ is float and math.isnan(obj):
        return NoneType()
    _numpy_classes()
    handler = _BY_CLASS.get(obj.__class__)
    if handler is None:
        return PythonObjectType(obj.__class__.__name__)
    return handler.from_obj(obj)


def from_json(json_obj: dict[str, Any]) -> Type:
    """Rebuild a type from its JSON form.

    Raises:
        TypeError: no ``wb_type`` key, or an unknown type name.
    """
    name = json_obj.get("wb_type")
    if name is None:
        raise TypeError("json_dict must contain `wb_type` key")
    handler = _BY_NAME.get(name)
    if handler is None:
        raise TypeError(f"missing type handler for {name}")
    return handler.from_json(json_obj)


def from_dtype(dtype: Any) -> Type:
    """A type from the ``dtype`` notation of ``Table(dtype=...)`` (class, list, dict, value)."""
    if isinstance(dtype, Type):
        return dtype
    if isinstance(dtype, type) and issubclass(dtype, Type):
        return dtype()
    if isinstance(dtype, type):
        _numpy_classes()
        handler = _BY_CLASS.get(dtype)
        return handler() if handler else PythonObjectType(dtype.__name__)
    if isinstance(dtype, list):
        if not dtype:
            return ListType()
        if len(dtype) == 1:
            return ListType(from_dtype(dtype[0]))
        return UnionType([from_dtype(item) for item in dtype])
    if isinstance(dtype, dict):
        return TypedDictType({key: from_dtype(value) for key, value in dtype.items()})
    return ConstType(dtype)


def file_type(name: str, cls: type) -> type[Type]:
    """Register the column type ``name`` for values of the media class ``cls``."""
    new = type(f"_{cls.__name__}FileType", (Type,), {"name": name, "types": [cls]})
    return add(new)


def _params_to_json(params: Any) -> Any:
    if params.__class__ is dict:
        return {key: _params_to_json(value) for key, value in params.items()}
    if params.__class__ in (list, set, tuple, frozenset):
        return [_params_to_json(item) for item in params]
    if isinstance(params, Type):
        return params.to_json()
    return params


def _json_to_params(json_obj: Any) -> Any:
    if json_obj.__class__ is dict:
        if "wb_type" in json_obj:
            return from_json(json_obj)
        return {key: _json_to_params(value) for key, value in json_obj.items()}
    if json_obj.__class__ is list:
        return [_json_to_params(item) for item in json_obj]
    return json_obj


class Type:
    """A column type: ``name`` plus ``params``; ``assign`` refines it with a value."""

    name: ClassVar[str] = ""
    legacy_names: ClassVar[list[str]] = []
    types: ClassVar[list[type]] = []

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def assign(self, obj: Any) -> Type:
        """The type after adding ``obj``, or ``InvalidType`` if it does not fit."""
        return self.assign_type(type_of(obj))

    def assign_type(self, other: Type) -> Type:
        """The type after merging ``other``, or ``InvalidType``."""
        if isinstance(other, self.__class__) and self.params == other.params:
            return self
        return InvalidType()

    def to_json(self) -> dict[str, Any]:
        """``{"wb_type": name, "params": ...}`` (params dropped when empty)."""
        result: dict[str, Any] = {"wb_type": self.name}
        params = _params_to_json(self.params)
        if params:
            result["params"] = params
        return result

    @classmethod
    def from_json(cls, json_obj: dict[str, Any]) -> Type:
        """Rebuild from ``to_json`` output."""
        return cls(**_json_to_params(json_obj.get("params", {})))

    @classmethod
    def from_obj(cls, obj: Any) -> Type:
        """The type of a value this class describes."""
        del obj
        return cls()

    def __repr__(self) -> str:
        if not self.params:
            return self.name.capitalize()
        inner = ", ".join(f"{key}:{value}" for key, value in self.params.items())
        return f"{self.name.capitalize()}({inner})"

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Type) and self.name == other.name and self.params == other.params
        )

    __hash__ = None  # type: ignore[assignment]


class InvalidType(Type):
    """The result of a failed assignment."""

    name = "invalid"

    def assign_type(self, other: Type) -> Type:
        return self


class AnyType(Type):
    """Accepts everything but ``None`` (``allow_mixed_types=True``)."""

    name = "any"

    def assign_type(self, other: Type) -> Type:
        return InvalidType() if isinstance(other, NoneType | InvalidType) else self


class UnknownType(Type):
    """Not known yet: becomes the type of the first value (never ``None``)."""

    name = "unknown"

    def assign_type(self, other: Type) -> Type:
        return InvalidType() if isinstance(other, NoneType) else other


class NoneType(Type):
    name = "none"
    types: ClassVar[list[type]] = [type(None)]


class StringType(Type):
    name = "string"
    types: ClassVar[list[type]] = [str]


class NumberType(Type):
    name = "number"
    types: ClassVar[list[type]] = [int, float]


class TimestampType(Type):
    name = "timestamp"
    types: ClassVar[list[type]] = [datetime.datetime, datetime.date]


class BooleanType(Type):
    name = "boolean"
    types: ClassVar[list[type]] = [bool]


class PythonObjectType(Type):
    """Any other Python class, by name."""

    name = "pythonObject"
    legacy_names: ClassVar[list[str]] = ["object"]

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.params["class_name"] = class_name


class ConstType(Type):
    """A constant value (used by media column types for their parameters)."""

    name = "const"

    def __init__(self, val: Any = None, is_set: bool | None = False) -> None:
        super().__init__()
        if is_set or isinstance(val, set):
            is_set = True
            val = set(val)
        self.params.update({"val": val, "is_set": is_set})

    def assign(self, obj: Any) -> Type:
        return self.assign_type(ConstType(obj))

    def __repr__(self) -> str:
        return str(self.params["val"])


def _flatten(types: list[Type]) -> list[Type]:
    result: list[Type] = []
    for item in types:
        result.extend(
            _flatten(item.params["allowed_types"]) if isinstance(item, UnionType) else [item]
        )
    return result


def _union_assign(allowed: list[Type], obj: Any, type_mode: bool) -> list[Type] | None:
    resolved: list[Type] = []
    valid = False
    unknown = 0
    for candidate in allowed:
        if valid:
            resolved.append(candidate)
        elif isinstance(candidate, UnknownType):
            unknown += 1
        else:
            assigned = candidate.assign_type(obj) if type_mode else candidate.assign(obj)
            if isinstance(assigned, InvalidType):
                resolved.append(candidate)
            else:
                resolved.append(assigned)
                valid = True
    if not valid:
        if unknown == 0:
            return None
        new = obj if type_mode else UnknownType().assign(obj)
        if isinstance(new, InvalidType):
            return None
        resolved.append(new)
        unknown -= 1
    resolved.extend(UnknownType() for _ in range(unknown))
    resolved = _flatten(resolved)
    resolved.sort(key=str)
    return resolved


class UnionType(Type):
    """One of several types (``Optional`` is a union with ``none``)."""

    name = "union"

    def __init__(self, allowed_types: list[Any] | None = None) -> None:
        super().__init__()
        types = _flatten([from_dtype(item) for item in allowed_types or []])
        types.sort(key=str)
        self.params["allowed_types"] = types

    def assign(self, obj: Any) -> Type:
        resolved = _union_assign(self.params["allowed_types"], obj, type_mode=False)
        return InvalidType() if resolved is None else UnionType(list(resolved))

    def assign_type(self, other: Type) -> Type:
        others = other.params["allowed_types"] if isinstance(other, UnionType) else [other]
        resolved: list[Type] | None = self.params["allowed_types"]
        for item in others:
            assert resolved is not None
            resolved = _union_assign(resolved, item, type_mode=True)
            if resolved is None:
                return InvalidType()
        return UnionType(list(resolved or []))

    def __repr__(self) -> str:
        return " or ".join(str(item) for item in self.params["allowed_types"])


def optional(dtype: Any) -> UnionType:
    """``dtype`` or ``None``."""
    return UnionType([from_dtype(dtype), NoneType()])


class ListType(Type):
    """A list of elements of one type, with its length when all lists agree."""

    name = "list"
    types: ClassVar[list[type]] = [list, tuple, set, frozenset]

    def __init__(self, element_type: Any = None, length: int | None = None) -> None:
        super().__init__()
        element = UnknownType() if element_type is None else from_dtype(element_type)
        self.params.update({"element_type": element, "length": length})

    @classmethod
    def from_obj(cls, obj: Any) -> Type:
        items = obj.tolist() if hasattr(obj, "tolist") else list(obj)
        element: Type = optional(UnknownType()) if None in items else UnknownType()
        for item in items:
            element = element.assign(item)
        return cls(element, len(items))

    def assign_type(self, other: Type) -> Type:
        if isinstance(other, ListType):
            element = self.params["element_type"].assign_type(other.params["element_type"])
            if not isinstance(element, InvalidType):
                same = self.params["length"] == other.params["length"]
                return ListType(element, self.params["length"] if same else None)
        return InvalidType()

    def assign(self, obj: Any) -> Type:
        if not hasattr(obj, "__iter__") or isinstance(obj, str | dict):
            return InvalidType()
        element = self.params["element_type"]
        items = list(obj)
        for item in items:
            element = element.assign(item)
            if isinstance(element, InvalidType):
                return InvalidType()
        return ListType(element, len(items))

    def __repr__(self) -> str:
        return f"{self.params['element_type']}[]"


class NDArrayType(Type):
    """A numpy array column; stored in an ``.npz`` file next to the table JSON."""

    name = "ndarray"

    def __init__(self, shape: list[int], serialization_path: dict[str, str] | None = None) -> None:
        super().__init__()
        self.params["shape"] = list(shape)
        self.serialization_path = serialization_path

    @classmethod
    def from_obj(cls, obj: Any) -> Type:
        if isinstance(obj, list):
            shape: list[int] = []
            target: Any = obj
            while isinstance(target, list):
                shape.append(len(target))
                if not target:
                    break
                target = target[0]
            return cls(shape)
        return cls(list(obj.shape))

    def assign_type(self, other: Type) -> Type:
        if isinstance(other, ListType) or (
            isinstance(other, NDArrayType) and self.params["shape"] == other.params["shape"]
        ):
            return self
        return InvalidType()

    def assign(self, obj: Any) -> Type:
        if isinstance(obj, list) or hasattr(obj, "shape"):
            return self.assign_type(self.from_obj(obj))
        return InvalidType()

    def to_json(self) -> dict[str, Any]:
        params = {"shape": self.params["shape"], "serialization_path": self.serialization_path}
        return {"wb_type": self.name, "params": params}


class TypedDictType(Type):
    """A dict with one type per key (the table's ``column_types``)."""

    name = "typedDict"
    legacy_names: ClassVar[list[str]] = ["dictionary"]
    types: ClassVar[list[type]] = [dict]

    def __init__(self, type_map: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.params["type_map"] = {k: from_dtype(v) for k, v in (type_map or {}).items()}

    @classmethod
    def from_obj(cls, obj: Any) -> Type:
        return cls({key: type_of(value) for key, value in obj.items()})

    def assign_type(self, other: Type) -> Type:
        mine = self.params["type_map"]
        if not isinstance(other, TypedDictType) or set(other.params["type_map"]) - set(mine):
            return InvalidType()
        result = {}
        for key, value in mine.items():
            result[key] = value.assign_type(other.params["type_map"].get(key, UnknownType()))
            if isinstance(result[key], InvalidType):
                return InvalidType()
        return TypedDictType(result)

    def assign(self, obj: Any) -> Type:
        mine = self.params["type_map"]
        if not isinstance(obj, dict) or set(obj) - set(mine):
            return InvalidType()
        result = {}
        for key, value in mine.items():
            result[key] = value.assign(obj.get(key))
            if isinstance(result[key], InvalidType):
                return InvalidType()
        return TypedDictType(result)

    def __repr__(self) -> str:
        return str(self.params["type_map"])


for _cls in (InvalidType, AnyType, UnknownType, NoneType, StringType, TimestampType, NumberType,
             BooleanType, ListType, TypedDictType, UnionType, PythonObjectType, ConstType,
             NDArrayType):  # fmt: skip
    add(_cls)
