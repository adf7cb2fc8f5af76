"""Strict, line-aware reading of YAML configuration.

Configuration files are read by hand-written schemas rather than a generic
validator so that every error says, in the user's terms, which key is wrong,
on which line, and what would be accepted. ``load_yaml`` keeps each mapping's
line numbers; :class:`Section` walks a mapping, converting and checking values,
and :meth:`Section.finish` rejects keys nobody asked for (typos must not be
silently ignored in a dialer: a misspelt ``max_abandon_rate`` would fall back
to a default the supervisor never chose).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import yaml

from dialer.core.errors import ConfigError

T = TypeVar("T")


class LineDict(dict):
    """A dict that remembers the line of each key (1-based) and its own."""

    line: int | None = None
    key_lines: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines = {}


# Limits on one document. Configuration files are a few kilobytes (the largest shipped flow
# is ~11 KB and ~2,000 nodes); these are far above that and far below what hurts.
MAX_YAML_CHARS = 1_000_000
MAX_YAML_NODES = 100_000      # counting every alias as the full copy it stands for
MAX_YAML_DEPTH = 100          # nesting, likewise counted through aliases
MAX_NUMBER_CHARS = 100


class _GuardedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses alias bombs and deep nesting while composing.

    Aliases are cheap in the node graph but every later walk (``safe_dump`` of a
    live edit, copying ``ivr_params``, validation) expands them: nine levels of ten
    aliases are a billion nodes from a 300-byte file. Each node's expanded size and
    depth are therefore totalled as it is composed, and composing stops at the first
    one over the limit, before anything is expanded. Nesting is also counted on the
    way down, because PyYAML composes recursively and 50,000 ``[`` would otherwise end
    in a RecursionError before any node is finished.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nesting = 0
        self._expanded: dict[int, tuple[int, int]] = {}   # id(node) -> (nodes, depth)

    def compose_document(self) -> yaml.Node:
        try:
            return super().compose_document()
        finally:
            self._expanded = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._expanded:   # its anchor is still being composed
                raise _limit("an alias (*name) refers to the collection that contains it", mark)
            return node                          # the parent counts it again, in full
        if self._nesting >= MAX_YAML_DEPTH:
            raise _limit(f"nested more than {MAX_YAML_DEPTH} levels deep", mark)
        self._nesting += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._nesting -= 1
        if isinstance(node, yaml.ScalarNode):
            self._expanded[id(node)] = (1, 1)
            return node
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) \
            else node.value
        sizes = [self._expanded[id(child)] for child in children]
        count = 1 + sum(size[0] for size in sizes)
        depth = 1 + max((size[1] for size in sizes), default=0)
        if count > MAX_YAML_NODES:
            raise _limit(f"more than {MAX_YAML_NODES:,} values once aliases (*name) are expanded", mark)
        if depth > MAX_YAML_DEPTH:
            raise _limit(f"nested more than {MAX_YAML_DEPTH} levels deep once aliases (*name) are "
                         f"expanded", mark)
        self._expanded[id(node)] = (count, depth)
        return node


class YamlLimitError(yaml.composer.ComposerError):
    """A document over one of the limits: well-formed YAML, but not one we will expand."""


def _construct_int(loader: _GuardedLoader, node: yaml.ScalarNode) -> int:
    """Python refuses to convert more than 4,300 digits with a bare ValueError; refuse far sooner,
    with the line: no setting needs a number that long."""
    if len(node.value) > MAX_NUMBER_CHARS:
        raise _limit(f"a number of {len(node.value):,} characters is too long "
                     f"(at most {MAX_NUMBER_CHARS})", node.start_mark)
    return loader.construct_yaml_int(node)


_GuardedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)  # type: ignore[arg-type]


def _limit(problem: str, mark: yaml.Mark) -> YamlLimitError:
    return YamlLimitError(None, None, problem, mark)


def _too_large(text: str) -> str | None:
    """Checked before parsing: the scanner alone would spend seconds on a huge file."""
    if len(text) > MAX_YAML_CHARS:
        return f"too large: {len(text):,} characters, at most {MAX_YAML_CHARS:,}"
    return None


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the same limits as configuration files, for values typed on the
    command line; raises yaml.YAMLError (the caller words the error)."""
    problem = _too_large(text)
    if problem:
        raise YamlLimitError(None, None, problem, None)
    return yaml.load(text, Loader=_GuardedLoader)


class _LineLoader(_GuardedLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: a key must be a plain word, not {key!r}"
            )
        key = str(key)
        if key in result:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping  # type: ignore[arg-type]
)


def load_yaml_text(text: str, source: str) -> Any:
    """The one way configuration YAML is read: line-aware, size-, alias- and depth-limited."""
    problem = _too_large(text)
    if problem:
        raise ConfigError(problem, where=source)
    try:
        return yaml.load(text, Loader=_LineLoader)
    except ConfigError as exc:
        raise ConfigError(exc.message, where=source) from None
    except YamlLimitError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(f"refused: {exc.problem}", where=f"{source}, line {line}" if line else source) \
            from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(f"not valid YAML: {yaml_problem(exc)}", where=f"{source}, line {line}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise ConfigError(f"not valid YAML: {yaml_problem(exc)}", where=where) from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's problem in one line: its ``str()`` spans lines, which breaks the one-line error."""
    if isinstance(exc, yaml.reader.ReaderError):
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return f"non-printable character U+{code:04X} is not allowed (remove it from the text)"
    problem = getattr(exc, "problem", None) or str(exc)
    return " ".join(str(problem).split())


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from None
    return load_yaml_text(text, str(path))


_MISSING: Any = object()
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"4h"``, ``"3d"``; None if not a duration."""
    if isinstance(value, bool):
        return None
    # .nan compares false with every bound, so it would pass any range check; .inf is no duration
    if isinstance(value, int | float):
        return float(value) if is_finite(value) else None
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            return seconds if math.isfinite(seconds) else None
    return None


def is_finite(value: float) -> bool:
    """True for a number that can be compared with a limit: not nan, not ±inf, and (an int from
    YAML) not too large for a float."""
    return abs(value) < 1e300 if isinstance(value, int) else math.isfinite(value)


class Section:
    """One mapping of a config file, read key by key.

    ``path`` is the dotted key path shown in errors (``pacing.dial_level``).
    Each accessor pops the key, so :meth:`finish` can report the leftovers.
    """

    def __init__(self, data: Any, source: str, path: str = "") -> None:
        if data is None:
            data = LineDict()
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{path or 'the document'} must be a mapping of keys to values, "
                f"not {_describe(data)}",
                where=source,
            )
        self.source = source
        self.path = path
        self._data = dict(data)
        self._lines: dict[str, int] = getattr(data, "key_lines", {})
        self._line: int | None = getattr(data, "line", None)

    # -- error helpers -------------------------------------------------------------
    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def where(self, key: str | None = None) -> str:
        line = self._lines.get(key) if key is not None else self._line
        return f"{self.source}, line {line}" if line else self.source

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.key_path(key)}: {message}", where=self.where(key))

    # -- access ------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self._data:
            if default is _MISSING:
                raise ConfigError(f"{self.key_path(key)}: required key is missing", where=self.where())
            return default
        return self._data.pop(key)

    def section(self, key: str, *, required: bool = False) -> Section:
        value = self.raw(key, _MISSING if required else None)
        if value is not None and not isinstance(value, Mapping):
            raise self.error(key, f"must be a mapping of keys to values, not {_describe(value)}")
        sub = Section(value, self.source, self.key_path(key))
        if not getattr(value, "key_lines", None):
            sub._line = self._lines.get(key)
        return sub

    def string(self, key: str, default: Any = _MISSING, *, pattern: str | None = None,
               hint: str = "") -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty text, not {_describe(value)}")
        if pattern and not re.fullmatch(pattern, value):
            raise self.error(key, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def choice(self, key: str, allowed: Iterable[str], default: Any = _MISSING) -> Any:
        allowed = list(allowed)
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or value not in allowed:
            raise self.error(
                key, f"{_describe(value)} is not allowed; choose one of: {', '.join(allowed)}"
            )
        return value

    def boolean(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {_describe(value)}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None,
               maximum: float | None = None, integer: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        kind = "a whole number" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be {kind}, not {_describe(value)}")
        if not is_finite(value):
            # .nan compares false with every bound and would slip through any range check
            raise self.error(key, f"must be {kind}, not {_describe(value)}")
        if integer and not float(value).is_integer():
            raise self.error(key, f"must be {kind}, not {value}")
        _check_range(self, key, value, minimum, maximum)
        return int(value) if integer else float(value)

    def decimal(self, key: str, default: Any = _MISSING, *, minimum: Decimal | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(key, f"must be an amount like 250.00, not {_describe(value)}")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self.error(key, f"must be an amount like 250.00, not {value!r}") from None
        if not amount.is_finite():
            raise self.error(key, f"must be an amount like 250.00, not {value!r}")
        if minimum is not None and amount < minimum:
            raise self.error(key, f"must be at least {minimum}, not {amount}")
        return amount

    def duration(self, key: str, default: Any = _MISSING, *, minimum: float | None = None,
                 maximum: float | None = None) -> Any:
        """Seconds; accepts 30, "30s", "15m", "4h", "3d"."""
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        seconds = parse_duration(value)
        if seconds is None:
            raise self.error(
                key, f"must be a duration such as 30s, 15m, 4h or 3d, not {_describe(value)}"
            )
        _check_range(self, key, seconds, minimum, maximum, unit="s")
        return seconds

    def date(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        return self.as_date(key, value)

    def as_date(self, key: str, value: Any) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.error(key, f"must be a date like 2026-12-24, not {_describe(value)}")

    def items(self, key: str, convert: Callable[[str, Any], T], default: Any = _MISSING) -> list[T]:
        """A list, each element converted by ``convert(path_of_element, value)``."""
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"must be a list, not {_describe(value)}")
        return [convert(f"{key}[{i}]", item) for i, item in enumerate(value)]

    def remaining_keys(self) -> list[str]:
        return list(self._data)

    def finish(self, allowed_hint: Iterable[str] = ()) -> None:
        """Reject unknown keys, naming the allowed ones."""
        if not self._data:
            return
        key = next(iter(self._data))
        hint = sorted(allowed_hint)
        suffix = f"; allowed here: {', '.join(hint)}" if hint else ""
        raise self.error(key, f"unknown key{suffix}")


def _check_range(section: Section, key: str, value: float, minimum: float | None,
                 maximum: float | None, unit: str = "") -> None:
    if minimum is not None and value < minimum:
        raise section.error(key, f"must be at least {minimum:g}{unit}, not {value:g}{unit}")
    if maximum is not None and value > maximum:
        raise section.error(key, f"must be at most {maximum:g}{unit}, not {value:g}{unit}")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return f"{type(value).__name__} {value!r}"
