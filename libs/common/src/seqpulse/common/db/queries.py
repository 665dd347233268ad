"""Named SQL queries loaded from a service's `queries.sql` (`-- name: <name>` before each statement)."""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Queries:
    """Attribute access to the statements of one `.sql` file: `q.insert_sample`."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._sql: dict[str, str] = {}
        text = path.read_text()
        parts = _NAME.split(text)
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in self._sql:
                raise ValueError(f"{path}: query {name!r} defined twice")
            self._sql[name] = body.strip().rstrip(";")

    def __getattr__(self, name: str) -> str:
        try:
            return self._sql[name]
        except KeyError:
            raise AttributeError(f"{self._path.name} has no query {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._sql)
