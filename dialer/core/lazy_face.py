"""Package faces that load a name's module only when the name is first used (PEP 562).

Every module inside callpact imports its neighbours by module path (``from audio import spoken``,
``from dialer.core.records import Debtor``), and Python runs a package's ``__init__`` first. A face
that imported all its modules made each such import load the whole package (``audio`` brought
numpy, the detectors and the TTS engines into ``callpact campaign status``; ``ivr_flows`` brought
aiohttp): the command line took twice as long to start. A lazy face offers the same names, and a
name costs its module only when someone asks for it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``'s face: ``exports`` maps each name the face offers to the
    module that defines it; a module offered by its own name maps to itself."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(module)
        return loaded if module == f"{package}.{name}" else getattr(loaded, name)

    return __getattr__
