"""User-facing errors.

Every problem a user can cause (a bad CSV row, a YAML key, an unreachable Redis)
is raised as a :class:`CallpactError` that names *where* (file, line, key path)
and *what*. The CLI prints these as one clear line and exits non-zero; anything
else reaching the top is a bug and is shown as one.
"""

from __future__ import annotations


class CallpactError(Exception):
    """An error the user can act on; ``str()`` is the full message."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(CallpactError):
    """A configuration file (campaign, scenario, flow) is invalid."""


class InputError(CallpactError):
    """A data file (debtor list) cannot be read at all."""


class StoreUnavailable(CallpactError):
    """Redis cannot be reached or started."""

    exit_code = 3


class NotFound(CallpactError):
    """A named thing (campaign, attempt) does not exist."""
