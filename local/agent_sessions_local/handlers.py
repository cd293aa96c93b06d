"""The handlers and their events/ files, loaded as Lambda and `sam local invoke -e` would.

No side effects on import, so the benchmarks use these too.
"""

import copy
import importlib.util
import json
from types import ModuleType
from typing import Any

from agent_sessions_local.template import PROJECT_ROOT

EVENTS_DIR = PROJECT_ROOT / "events"
FUNCTIONS_DIR = PROJECT_ROOT / "functions"

_loaded_handlers: dict[str, ModuleType] = {}


def load_handler_module(function_dir: str) -> ModuleType:
    """functions/<dir>/app.py, imported by path as Lambda would (once per test run)."""
    if function_dir not in _loaded_handlers:
        path = FUNCTIONS_DIR / function_dir / "app.py"
        module_spec = importlib.util.spec_from_file_location(f"handler_{function_dir}", path)
        assert module_spec is not None
        assert module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        _loaded_handlers[function_dir] = module
    return _loaded_handlers[function_dir]


def load_event(name: str) -> dict[str, Any]:
    """A copy of events/<name>.json."""
    return copy.deepcopy(json.loads((EVENTS_DIR / f"{name}.json").read_text()))
