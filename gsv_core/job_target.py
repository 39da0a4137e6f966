"""Is ``"package.module:function"`` a job that can be started? Checked without importing it.

The UI checks a job's target before it starts a process, so that a typo is a clear error at
once rather than a failed job a second later; it must not import the module to do so (a
trainer's module imports torch: seconds, and memory the UI does not need). The module is
found with ``importlib.util.find_spec`` and its source is parsed instead.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gsv_core.errors import ConfigError

__all__ = ["check_target"]

# "package.module:function" with Python identifiers (Unicode letters allowed, as Python does).
_TARGET_PATTERN = re.compile(r"(?P<module>[^\W\d]\w*(?:\.[^\W\d]\w*)*):(?P<function>[^\W\d]\w*)")


def check_target(target: str, args: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`ConfigError` unless ``target`` names a function that can take
    ``(ctx, **args)``, without importing its module (that may load torch into the UI).

    The module is found with ``importlib.util.find_spec`` and its source parsed: the function
    must be defined (or imported) at its top level, not ``async``, and, when it is a plain
    undecorated ``def``, accept every name in ``args`` and get all its required parameters.
    A module without Python source (compiled) or with a module ``__getattr__`` is not checked
    further: the child reports what is wrong there.
    """
    match = _TARGET_PATTERN.fullmatch(target)
    if match is None:
        raise ConfigError(f"The job target {target!r} is not 'package.module:function'.",
                          "Name a module and a function in it, e.g. 'gsv_core.prepare:run'.")
    module_name, function_name = match["module"], match["function"]
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):  # a parent package is missing
        spec = None
    if spec is None:
        raise ConfigError(f"There is no module {module_name!r} for the job {target!r}.",
                          "Check the spelling, and that its package is installed in this Python.")
    origin = spec.origin or ""
    if not origin.endswith(".py"):
        return
    tree = ast.parse(Path(origin).read_bytes(), filename=origin)
    bindings = _top_level_bindings(tree)
    if "__getattr__" in bindings:
        return
    node = bindings.get(function_name)
    if node is None:
        raise ConfigError(f"The module {module_name} has no function {function_name!r}.",
                          f"Check the name; the job target was {target!r}.")
    if isinstance(node, ast.AsyncFunctionDef):
        raise ConfigError(f"{target} is an async function; a job must be a plain function.",
                          "Wrap it in a function that runs it with asyncio.run().")
    if isinstance(node, ast.FunctionDef) and not node.decorator_list:
        _check_parameters(target, node.args, dict(args or {}))


def _top_level_bindings(tree: ast.Module) -> dict[str, ast.AST]:
    """Names bound at a module's top level (also inside top-level if/try/with blocks)."""
    bindings: dict[str, ast.AST] = {}
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bindings[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name_node in targets:
                for sub in ast.walk(name_node):
                    if isinstance(sub, ast.Name):
                        bindings[sub.id] = node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            statements.extend(node.body)
            statements.extend(getattr(node, "orelse", []))
            statements.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                statements.extend(handler.body)
    return bindings


def _check_parameters(target: str, params: ast.arguments, args: Mapping[str, Any]) -> None:
    positional = [*params.posonlyargs, *params.args]
    if not positional and params.vararg is None:
        raise ConfigError(f"{target} takes no positional parameter for the job context.",
                          "Make its first parameter 'ctx' (a gsv_core.jobs.JobContext).")
    context = positional[0] if positional else None
    by_keyword = [p.arg for p in params.args if p is not context]
    by_keyword += [p.arg for p in params.kwonlyargs]
    unknown = sorted(set(args) - set(by_keyword))
    if unknown and params.kwarg is None:
        raise ConfigError(f"{target} has no parameter {', '.join(map(repr, unknown))}.",
                          f"Its parameters are: {', '.join(by_keyword) or 'none besides ctx'}.")
    # Positional parameters after ctx without a default, and keyword-only ones without one.
    required = [p.arg for p in positional[1:len(positional) - len(params.defaults)]]
    required += [p.arg for p, default in zip(params.kwonlyargs, params.kw_defaults, strict=True)
                 if default is None]
    missing = [name for name in required if name not in args]
    if missing:
        raise ConfigError(f"{target} needs {', '.join(map(repr, missing))}.",
                          "Pass them in the job's arguments.")
