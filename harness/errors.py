"""User-facing errors: the CLI prints their message on one line and exits non-zero."""

from __future__ import annotations

from pathlib import Path


class BenchError(Exception):
    """An error the user can act on; its message is the whole story."""


class UnknownNameError(BenchError, LookupError):
    """A component name that no plugin registered."""


class DataFileError(BenchError, ValueError):
    """A data file that does not hold what a loader expects.

    The message always names the file, the field and what was expected.
    """

    def __init__(self, path: str | Path, field: str, expected: str, found: str | None = None):
        self.path = str(path)
        self.field = field
        self.expected = expected
        self.found = found
        detail = f"{self.path}: field '{field}': expected {expected}"
        if found is not None:
            detail += f", found {found}"
        super().__init__(detail)


class SpecError(BenchError, ValueError):
    """A run or search spec with a bad key or value; names the file and the key."""

    def __init__(self, source: str, key: str, problem: str):
        self.source = source
        self.key = key
        super().__init__(f"{source}: key '{key}': {problem}")
