"""No code path of ours runs text as code or unpickles arbitrary objects (issue 14, item 4).

The scan reads every Python file we ship (gsv_core/, tabs/, webui.py) and the set-up script
with ``ast``. It refuses calls to ``eval``/``exec``, ``os.system``/``os.popen``, any
``subprocess`` call with ``shell=True``, ``pickle.load(s)``/``marshal.loads``, ``yaml.load``
without a safe loader, and ``torch.load`` without ``weights_only=True``. ``ast.literal_eval``
reads literals only and is allowed. Each finding names the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [*sorted((REPO / "gsv_core").rglob("*.py")), *sorted((REPO / "tabs").rglob("*.py")),
           REPO / "webui.py", REPO / "scripts" / "ensure_env.py"]
RUNS_TEXT = {"eval", "exec"}
SHELL_CALLS = {("os", "system"), ("os", "popen")}
UNPICKLERS = {("pickle", "load"), ("pickle", "loads"), ("marshal", "loads"),
              ("marshal", "load"), ("shelve", "open")}


def _name(node: ast.expr) -> tuple[str, ...]:
    """``a.b.c`` as ("a", "b", "c"); () for anything else."""
    if isinstance(node, ast.Name):
        return (node.id,)
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return (*inner, node.attr) if inner else ()
    return ()


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def findings(source: str, filename: str) -> list[str]:
    """Every unsafe call in ``source`` as "file:line: what"."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        where = f"{filename}:{node.lineno}"
        if name and name[-1] in RUNS_TEXT and (len(name) == 1 or name[0] == "builtins"):
            problems.append(f"{where}: {'.'.join(name)}() runs text as code")
        elif name[-2:] in SHELL_CALLS:
            problems.append(f"{where}: {'.'.join(name)}() runs a shell")
        elif name[:1] == ("subprocess",) and _is_true(_keyword(node, "shell")):
            problems.append(f"{where}: {'.'.join(name)}(shell=True) runs a shell")
        elif name[-2:] in UNPICKLERS:
            problems.append(f"{where}: {'.'.join(name)}() can run code from a file")
        elif name[-2:] == ("yaml", "load") and _keyword(node, "Loader") is None:
            problems.append(f"{where}: yaml.load() without a safe Loader")
        elif name[-2:] == ("torch", "load") and not _is_true(_keyword(node, "weights_only")):
            problems.append(f"{where}: torch.load() without weights_only=True unpickles "
                            "anything")
    return problems


def test_no_shipped_code_runs_text_or_unpickles_arbitrary_objects():
    found = [problem for path in SHIPPED
             for problem in findings(path.read_text(encoding="utf-8"),
                                     str(path.relative_to(REPO)))]
    assert len(SHIPPED) > 100
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line", [
    "eval(text)", "exec(code)", "builtins.eval(x)", "os.system('ls ' + name)",
    "os.popen(cmd)", "subprocess.run(cmd, shell=True)", "subprocess.Popen(c, shell=True)",
    "pickle.load(handle)", "pickle.loads(data)", "marshal.loads(b)", "yaml.load(text)",
    "torch.load(path)", "torch.load(path, weights_only=False)"])
def test_each_unsafe_form_is_found(line):
    assert len(findings(line + "\n", "example.py")) == 1


@pytest.mark.parametrize("line", [
    "ast.literal_eval(text)", "model.eval()", "subprocess.run(['ls'])",
    "subprocess.run(cmd, shell=False)", "torch.load(p, weights_only=True)",
    "yaml.load(text, Loader=yaml.SafeLoader)", "json.loads(text)"])
def test_safe_forms_are_not_flagged(line):
    assert findings(line + "\n", "example.py") == []
