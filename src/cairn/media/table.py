"""``Table``, ``JoinedTable`` and ``PartitionedTable``: tabular values inside artifacts.

A ``Table`` keeps its rows and one type per column (``cairn.media._dtypes``); a row that
does not fit the column types, or has the wrong number of cells, is refused before it is
stored. In an artifact a table is ``<name>.table.json`` in wandb's shape (spec §4.5):
``columns``, ``data``, ``column_types``, ``ncols``, ``nrows``, ``log_mode``; media cells are
written as their JSON (their files become entries of the artifact) and numpy-array columns
go to ``media/serialized_data/<col>_<id>.npz`` (read back with ``allow_pickle=False``).
"""

from __future__ import annotations

import datetime
import decimal
import math
import os
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from cairn.media import _dtypes
from cairn.media._base import (
    ArtifactReader,
    ArtifactWriter,
    Media,
    WBValue,
    media_tmp_dir,
    register,
    registered_types,
    require,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

_LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
MAX_EMBEDDING_DIMENSIONS = 150


def json_cell(value: Any, artifact: ArtifactWriter) -> Any:
    """A cell as JSON (wandb ``_json_helper``): media to their JSON, numpy to lists, dates to ms."""
    if isinstance(value, WBValue):
        return value.to_json(artifact)
    if value.__class__ is dict:
        return {key: json_cell(item, artifact) for key, item in value.items()}
    if hasattr(value, "tolist"):
        as_list = value.tolist()
        if value.__class__.__name__ == "datetime64" and isinstance(as_list, int):
            return as_list / int(1e6)
        return json_cell(as_list, artifact)
    if hasattr(value, "item"):
        return json_cell(value.item(), artifact)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, datetime.date):
        midnight = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
        return int(midnight.timestamp() * 1000)
    if isinstance(value, list | tuple):
        return [json_cell(item, artifact) for item in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _ndarray_of(column_type: _dtypes.Type) -> _dtypes.NDArrayType | None:
    if isinstance(column_type, _dtypes.NDArrayType):
        return column_type
    if isinstance(column_type, _dtypes.UnionType):
        for member in column_type.params["allowed_types"]:
            if isinstance(member, _dtypes.NDArrayType):
                return member
    return None


def _has_timestamp(column_type: _dtypes.Type) -> bool:
    members = (
        column_type.params["allowed_types"]
        if isinstance(column_type, _dtypes.UnionType)
        else [column_type]
    )
    return any(isinstance(member, _dtypes.TimestampType) for member in members)


@register
class Table(Media):
    """Rows of typed columns (``wandb.Table``).

    Args:
        columns: column names (str or int); default ``["Input", "Output", "Expected"]``.
        data: a list of rows, a numpy 2-D array, or a pandas DataFrame.
        rows: a list of rows (legacy name of ``data``).
        dataframe: a pandas DataFrame (its columns win over ``columns``).
        dtype: one type (or a list, one per column) in wandb's dtype notation.
        optional: whether columns accept ``None`` (bool, or one per column).
        allow_mixed_types: accept any value in every column.
        log_mode: ``"IMMUTABLE"`` (default), ``"MUTABLE"`` or ``"INCREMENTAL"``.

    Raises:
        ValueError: a row of the wrong length, an unknown log mode.
        TypeError: columns that are not str/int, a value that does not fit its column type.
    """

    _log_type = "table"
    _media_subdir = "media/table"
    MAX_ROWS: ClassVar[int] = 10_000
    MAX_ARTIFACT_ROWS: ClassVar[int] = 200_000

    def __init__(
        self,
        columns: list[Any] | None = None,
        data: Any = None,
        rows: list[Any] | None = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | list[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        super().__init__()
        if log_mode not in _LOG_MODES:
            raise ValueError(f"Invalid log_mode: {log_mode}. Must be one of {list(_LOG_MODES)}")
        self.log_mode = log_mode
        if allow_mixed_types:
            dtype = _dtypes.AnyType
        if dataframe is None and data is not None and _is_dataframe(data):
            dataframe = data
        if dataframe is not None:
            columns = list(dataframe.columns)
            rows_in: Any = [
                [dataframe[col].values[i] for col in columns] for i in range(len(dataframe))
            ]
        else:
            rows_in = data if data is not None else rows if rows is not None else []
        if columns is None:
            columns = ["Input", "Output", "Expected"]
        if not isinstance(columns, list) or not all(type(c) in (str, int) for c in columns):
            raise TypeError("columns argument expects list of strings or ints")
        if not (isinstance(rows_in, list) or hasattr(rows_in, "shape")):
            raise TypeError("data argument expects a list of rows, an ndarray or a DataFrame")
        self.columns: list[Any] = list(columns)
        self.data: list[list[Any]] = []
        self._column_types = _dtypes.TypedDictType({})
        dtypes = dtype if isinstance(dtype, list) else [dtype] * len(self.columns)
        optionals = optional if isinstance(optional, list) else [optional] * len(self.columns)
        for name, column_dtype, opt in zip(self.columns, dtypes, optionals, strict=False):
            self.cast(name, _dtypes.UnknownType() if column_dtype is None else column_dtype, opt)
        for row in rows_in:
            self.add_data(*row)

    def cast(self, col_name: Any, dtype: Any, optional: bool = False) -> _dtypes.Type:
        """Set the type of a column; existing cells must fit it.

        Raises:
            ValueError: no such column.
            TypeError: an existing cell does not fit ``dtype``.
        """
        if col_name not in self.columns:
            raise ValueError(f"No such column: {col_name!r}")
        wb_type = _dtypes.from_dtype(dtype)
        if optional:
            wb_type = _dtypes.optional(wb_type)
        index = self.columns.index(col_name)
        for row in self.data:
            result = wb_type.assign(row[index])
            if isinstance(result, _dtypes.InvalidType):
                raise TypeError(
                    f"Existing data {row[index]}, of type {_dtypes.type_of(row[index])} "
                    f"cannot be cast to {wb_type}"
                )
            wb_type = result
        self._column_types.params["type_map"][col_name] = wb_type
        return wb_type

    def add_data(self, *data: Any) -> None:
        """Append one row.

        Raises:
            ValueError: the row does not have one value per column.
            TypeError: a value does not fit its column's type.
        """
        if len(data) != len(self.columns):
            raise ValueError(
                f"This table expects {len(self.columns)} columns: {self.columns}, found {len(data)}"
            )
        incoming = dict(zip(self.columns, data, strict=True))
        result = self._column_types.assign(incoming)
        if not isinstance(result, _dtypes.TypedDictType):
            raise TypeError(
                f"Data row contained incompatible types: {incoming} is not assignable to "
                f"{self._column_types}"
            )
        self._column_types = result
        self.data.append(list(data))

    add_row = add_data

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Append a column (one value per existing row).

        Raises:
            ValueError: the name exists already, or ``data`` has the wrong length.
            TypeError: ``data`` is not a list or array, or its values do not share a type.
        """
        if not isinstance(name, str) or name in self.columns:
            raise ValueError(f"Column name must be a new string: {name!r}")
        if not (isinstance(data, list) or hasattr(data, "shape")):
            raise TypeError("Column data must be a list or a numpy array")
        first = not self.columns
        if not first and len(data) != len(self.data):
            raise ValueError(f"Expected length {len(self.data)}, found {len(data)}")
        saved = ([list(row) for row in self.data], list(self.columns))
        if first:
            self.data = [[] for _ in range(len(data))]
        for row, value in zip(self.data, data, strict=True):
            row.append(value)
        self.columns.append(name)
        try:
            self.cast(name, _dtypes.UnknownType(), optional=optional)
        except TypeError:
            self.data, self.columns = saved
            self._column_types.params["type_map"].pop(name, None)
            raise

    def get_column(self, name: Any, convert_to: str | None = None) -> Any:
        """The values of one column; ``convert_to="numpy"`` returns an array.

        Raises:
            ValueError: no such column, or ``convert_to`` other than ``None``/``"numpy"``.
        """
        if name not in self.columns:
            raise ValueError(f"No such column: {name!r}")
        if convert_to not in (None, "numpy"):
            raise ValueError("convert_to must be None or 'numpy'")
        index = self.columns.index(name)
        column = [row[index] for row in self.data]
        if convert_to == "numpy":
            return require("numpy").array(column)
        return column

    def get_index(self) -> list[int]:
        """Row indexes ``0..n-1``."""
        return list(range(len(self.data)))

    def get_dataframe(self) -> Any:
        """The table as a ``pandas.DataFrame`` (needs ``cairn[media]``)."""
        pandas = require("pandas")
        return pandas.DataFrame.from_records(self.data, columns=self.columns)

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for every row."""
        yield from enumerate(self.data)

    @property
    def column_types(self) -> _dtypes.TypedDictType:
        """The column types (a ``typedDict`` type)."""
        return self._column_types

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """The ``.table.json`` body; media cells and array columns become entries."""
        data = self.data[: self.MAX_ARTIFACT_ROWS]
        array_columns: set[int] = set()
        type_map = self._column_types.params["type_map"]
        for index, name in enumerate(self.columns):
            array_type = _ndarray_of(type_map[name])
            if array_type is None:
                continue
            shape = array_type.params["shape"]
            if len(shape) == 1 and shape[0] <= MAX_EMBEDDING_DIMENSIONS:
                type_map[name] = _dtypes.ListType(_dtypes.NumberType, shape[0])
                continue
            numpy = require("numpy")
            file_name = f"{name}_{uuid.uuid4().hex[:8]}.npz"
            local = os.path.join(media_tmp_dir(), file_name)
            numpy.savez_compressed(local, **{str(name): self.get_column(name, "numpy")})
            path = artifact.add_file(local, f"media/serialized_data/{file_name}", True)
            array_type.serialization_path = {"path": path, "key": str(name)}
            array_columns.add(index)
        mapped = [
            [None if i in array_columns else json_cell(v, artifact) for i, v in enumerate(row)]
            for row in data
        ]
        column_types = self._column_types.to_json()
        for index in array_columns:
            array_type = _ndarray_of(type_map[self.columns[index]])
            if array_type is not None:
                array_type.serialization_path = None
        return {
            "_type": self._log_type,
            "columns": self.columns,
            "data": mapped,
            "ncols": len(self.columns),
            "nrows": len(mapped),
            "column_types": column_types,
            "log_mode": self.log_mode,
        }

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> Table:
        """Rebuild a table; media cells are loaded, array columns read from their ``.npz``.

        Raises:
            TypeError: an unknown column type.
            ValueError: a table JSON without ``columns``/``data``.
        """
        if not isinstance(json_obj, dict) or "columns" not in json_obj or "data" not in json_obj:
            raise ValueError("Not a table JSON object (needs 'columns' and 'data')")
        columns = json_obj["columns"]
        column_types = None
        arrays: dict[int, Any] = {}
        timestamps: set[int] = set()
        if json_obj.get("column_types") is not None:
            loaded = _dtypes.from_json(json_obj["column_types"])
            assert isinstance(loaded, _dtypes.TypedDictType)
            column_types = loaded
            for name, column_type in column_types.params["type_map"].items():
                if _has_timestamp(column_type):
                    timestamps.add(columns.index(name))
                array_type = _ndarray_of(column_type)
                if array_type is not None and array_type.serialization_path is not None:
                    where = array_type.serialization_path
                    numpy = require("numpy")
                    with numpy.load(source.download(where["path"]), allow_pickle=False) as npz:
                        arrays[columns.index(name)] = npz[where["key"]]
                    array_type.serialization_path = None
        rows = [
            _load_row(row, r, timestamps, arrays, source) for r, row in enumerate(json_obj["data"])
        ]
        dtypes = None
        if column_types is not None:
            dtypes = [column_types.params["type_map"][str(c)] for c in columns]
        table = cls(columns=columns, data=rows, dtype=dtypes, log_mode=json_obj.get("log_mode"))
        if column_types is not None:
            table._column_types = column_types
        return table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table) or len(self.data) != len(other.data):
            return False
        if self.columns != other.columns or self._column_types != other._column_types:
            return False
        for mine, theirs in zip(self.data, other.data, strict=True):
            for a, b in zip(mine, theirs, strict=True):
                same = a == b
                if hasattr(same, "all"):
                    same = bool(same.all())
                if not same:
                    return False
        return True

    __hash__ = None


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "columns")


def _load_row(
    row: list[Any], r: int, timestamps: set[int], arrays: dict[int, Any], source: ArtifactReader
) -> list[Any]:
    types = registered_types()
    cells: list[Any] = []
    for c, item in enumerate(row):
        if c in timestamps and isinstance(item, int | float) and not isinstance(item, bool):
            cells.append(datetime.datetime.fromtimestamp(item / 1000, tz=datetime.UTC))
        elif c in arrays:
            cells.append(arrays[c][r])
        elif isinstance(item, dict) and item.get("_type") in types:
            value = types[item["_type"]].from_json(item, source)
            cells.append(value)
        else:
            cells.append(item)
    return cells


@register
class PartitionedTable(Media):
    """A table stored as several ``.table.json`` parts below ``parts_path`` (``wandb``'s)."""

    _log_type = "partitioned-table"

    def __init__(self, parts_path: str) -> None:
        super().__init__()
        self.parts_path = parts_path
        self._parts: list[str] = []
        self._reader: ArtifactReader | None = None

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """``{"_type": "partitioned-table", "parts_path": ...}``."""
        return {"_type": self._log_type, "parts_path": self.parts_path}

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> PartitionedTable:
        """A partitioned table whose parts are the entries below ``parts_path``."""
        table = cls(json_obj["parts_path"])
        table._reader = source
        prefix = table.parts_path.rstrip("/") + "/"
        table._parts = [p for p in source.list_paths(prefix) if p.endswith(".table.json")]
        return table

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` over all parts in order.

        Raises:
            ValueError: parts have different columns.
        """
        columns: list[Any] | None = None
        index = 0
        for path in self._parts:
            assert self._reader is not None
            part = self._reader.get(path)
            if not isinstance(part, Table):
                continue
            if columns is None:
                columns = part.columns
            elif columns != part.columns:
                raise ValueError(
                    f"Table parts have non-matching columns. {columns} != {part.columns}"
                )
            for _, row in part.iterrows():
                yield index, row
                index += 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartitionedTable) and self.parts_path == other.parts_path

    __hash__ = None


@register
class JoinedTable(Media):
    """Two tables of the artifact joined on a key (``wandb.JoinedTable``).

    Raises:
        ValueError: ``join_key`` is not a string or a pair, or a table is neither a
            ``Table``/``PartitionedTable`` nor a ``.table.json`` path.
    """

    _log_type = "joined-table"

    def __init__(self, table1: Any, table2: Any, join_key: str | Sequence[str]) -> None:
        super().__init__()
        if not isinstance(join_key, str) and (not isinstance(join_key, list) or len(join_key) != 2):
            raise ValueError("JoinedTable join_key should be a string or a list of two strings")
        for position, table in (("table1", table1), ("table2", table2)):
            ok = isinstance(table, Table | PartitionedTable) or (
                isinstance(table, str) and table.endswith(".table.json")
            )
            if not ok:
                raise ValueError(
                    f"JoinedTable {position} should be an artifact path to a table or "
                    "wandb.Table object"
                )
        self._table1 = table1
        self._table2 = table2
        self._join_key = join_key

    def _in_artifact(self, table: Any, artifact: ArtifactWriter, index: int) -> str:
        if isinstance(table, Table | PartitionedTable):
            name = f"t{index}_{id(self)}"
            if table._source is not None:
                name = os.path.basename(table._source[1])
            return artifact.add_value(table, name)[0]
        if not artifact.has_entry(table):
            raise ValueError(
                f"JoinedTable table:{table} not found in artifact. Add a table to the artifact "
                f"using Artifact#add(<table>, {table}) before adding this JoinedTable"
            )
        return str(table)

    def to_json(self, artifact: ArtifactWriter) -> dict[str, Any]:
        """``table1``/``table2`` entry paths (tables are added first) and ``join_key``."""
        return {
            "_type": self._log_type,
            "table1": self._in_artifact(self._table1, artifact, 1),
            "table2": self._in_artifact(self._table2, artifact, 2),
            "join_key": self._join_key,
        }

    @classmethod
    def from_json(cls, json_obj: Any, source: ArtifactReader) -> JoinedTable:
        """Load both tables (a path stays a path when it is not a table entry)."""
        table1 = source.get(json_obj["table1"]) or json_obj["table1"]
        table2 = source.get(json_obj["table2"]) or json_obj["table2"]
        return cls(table1, table2, json_obj["join_key"])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, JoinedTable)
            and self._join_key == other._join_key
            and self._table1 == other._table1
            and self._table2 == other._table2
        )

    __hash__ = None
