#!/usr/bin/env python3
"""scripts/moto-server for the benches, without two of moto's costs that real DynamoDB does not have.

    moto_server.py [--exit-with-stdin] -H 127.0.0.1 -p PORT

Everything is scripts/moto-server as it is (requests handled one at a time, `--exit-with-stdin`),
with two changes to moto 5.2.5 made before it starts, neither of which changes what any request
does or answers:

- **No instance tracking.** moto's `BaseModel.__new__` appends every model object it ever creates
  to a class-level list (`instances_tracked`, for its dashboard), so nothing it creates is freed.
  Its TransactWriteItems deep-copies the table (below), so under the thousands of transactions a
  bench sends moto's memory grows by gigabytes and its garbage collector's pauses grow with it: the
  endpoint gets slower the longer it runs. Here objects are created without being recorded (the
  dashboard, unused here, then lists nothing).
- **One snapshot per table per transaction.** TransactWriteItems snapshots each table it touches
  (`copy.deepcopy`) to roll back on failure, but takes a new full copy for every item of the
  transaction, keeping the last: a 4-item transaction copies the same table 4 times. Here the copy
  is taken once per table and reused within the call: the same snapshot, the same rollback. (The
  one copy that remains still costs time in proportion to the table, which real DynamoDB does not.)
"""

import copy as _copy
import runpy
from pathlib import Path
from typing import Any

import moto.dynamodb.models as _dynamodb_models
from moto.core import common_models


def _untracked_new(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
    return object.__new__(cls)


common_models.BaseModel.__new__ = staticmethod(_untracked_new)  # type: ignore[method-assign]


class _OneCopyPerTransaction:
    """Stands in for the `copy` module inside moto.dynamodb.models: while a TransactWriteItems
    runs, `deepcopy` of an object already copied in that call returns that copy."""

    def __init__(self) -> None:
        self.copies: dict[int, Any] | None = None

    def deepcopy(self, x: Any, memo: Any = None) -> Any:
        if self.copies is None or memo is not None:
            return _copy.deepcopy(x, memo)
        if id(x) not in self.copies:
            self.copies[id(x)] = _copy.deepcopy(x)
        return self.copies[id(x)]

    def __getattr__(self, name: str) -> Any:
        return getattr(_copy, name)


_shim = _OneCopyPerTransaction()
_dynamodb_models.copy = _shim  # type: ignore[assignment]
_transact = _dynamodb_models.DynamoDBBackend.transact_write_items


def _transact_write_items(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    _shim.copies = {}
    try:
        return _transact(self, *args, **kwargs)
    finally:
        _shim.copies = None


_dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
runpy.run_path(str(Path(__file__).resolve().parents[2] / "scripts" / "moto-server"), run_name="__main__")
