"""mmcv-style Python config files (the official LSNet configs), read without executing them.

mmcv's `Config.fromfile` imports the file as a Python module. Here the file is parsed with
`ast` and only its top-level assignments are evaluated, and only from a small safe subset of
Python: literals, lists, tuples, dicts, `dict(k=v, **other)`, names assigned earlier in the
same file, unary minus and `+ - * /` (e.g. `data_root + 'annotations/…'`). Nothing is imported,
called or executed. `_base_` files (one or a list, paths relative to the file; `.py`, `.json`,
`.yaml`) are read first and merged as mmcv merges them: keys of the bases may not repeat; the
child's dicts merge into the base's recursively unless they carry `_delete_=True`; every other
value replaces the base's.

Anything outside that subset (a function call, a comprehension, an f-string, an assignment
inside `if`) does not stop the reading: its name gets an `Unreadable` value saying what and
where, and only the code that needs such a value fails, with that line.
"""
from __future__ import annotations

import ast
import json
import operator
from dataclasses import dataclass
from pathlib import Path

from lsnet.errors import LSNetError, first_line

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Unreadable:
    """A config value this reader does not evaluate, and why."""

    reason: str

    def __str__(self) -> str:
        return self.reason


class _Unsupported(Exception):
    pass


class _Evaluator:
    """Values of expression nodes of one file, from the safe subset only (else `_Unsupported`).

    A dict entry that cannot be evaluated becomes `Unreadable` rather than spoiling its dict.
    """

    def __init__(self, names: dict, origin: str):
        self.names, self.origin = names, origin

    def __call__(self, node: ast.AST):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            return self._dict([(None if k is None else self(k), v) for k, v in zip(node.keys, node.values)])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
            return self._dict([(k.arg, k.value) for k in node.keywords], call=True)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise _Unsupported(f"name {node.id!r} is not assigned earlier in the file")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self(node.operand)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            try:
                return _BINARY[type(node.op)](self(node.left), self(node.right))
            except TypeError as e:
                raise _Unsupported(str(e)) from None
        raise _Unsupported(f"`{ast.unparse(node)[:60]}` is not a literal, dict(...), name or arithmetic")

    def _dict(self, entries: list[tuple], call: bool = False) -> dict:
        out = {}
        for key, node in entries:
            if key is None:  # **other
                value = self(node)
                if not isinstance(value, dict):
                    raise _Unsupported(f"`**{ast.unparse(node)[:40]}` is not of a dict ({value})")
                if call and out.keys() & value.keys():  # as Python's dict(a=1, **{'a': 2}) refuses
                    raise _Unsupported(f"dict() gets {sorted(out.keys() & value.keys())[0]!r} twice")
                out.update(value)
                continue
            try:
                out[key] = self(node)
            except _Unsupported as e:
                out[key] = Unreadable(f"{self.origin}, line {node.lineno}: {e}")
        return out


def parse_config_text(text: str, origin: str) -> dict:
    """The top-level names of one config file's text (`_base_` not followed), without executing it."""
    try:
        module = ast.parse(text, filename=origin)
    except SyntaxError as e:
        raise LSNetError(f"config {origin} is not valid Python: {e.msg} (line {e.lineno})") from None
    names: dict = {}
    evaluate = _Evaluator(names, origin)
    for statement in module.body:
        where = f"{origin}, line {statement.lineno}"
        if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
            try:
                value = evaluate(statement.value)
            except _Unsupported as e:
                value = Unreadable(f"{where}: {e}")
            for target in statement.targets:
                names[target.id] = value
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring
        else:  # imports, if/for/def, tuple targets: what they bind is not evaluated
            kind = type(statement).__name__
            for node in ast.walk(statement):
                bound = (node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                         else node.asname or node.name if isinstance(node, ast.alias) else None)
                if bound:
                    names[bound.split(".")[0]] = Unreadable(f"{where}: bound by a `{kind}` statement, not evaluated")
    return {k: v for k, v in names.items() if not k.startswith("__")}


def merge(child: dict, base: dict) -> dict:
    """`child` merged into `base` as mmcv's `Config._merge_a_into_b` does (neither is changed)."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            delete = value.pop(DELETE_KEY, False)
            if key in out and not delete:
                if not isinstance(out[key], dict):
                    raise LSNetError(f"config: {key} is a dict in the child config but not in its base "
                                     f"(set {DELETE_KEY}=True to replace it)")
                value = merge(value, out[key])
        out[key] = value
    return out


def _read_file(path: Path) -> dict:
    if not path.is_file():
        raise LSNetError(f"config {path} not found")
    text = path.read_text()
    if path.suffix == ".py":
        return parse_config_text(text, str(path))
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            raise LSNetError(f"config {path}: expected a .py, .json or .yaml file")
    except (ValueError, ImportError) as e:
        raise LSNetError(f"config {path} cannot be read: {first_line(e)}") from None
    if not isinstance(data, dict):
        raise LSNetError(f"config {path} is not a mapping")
    return data


def read_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config file with its `_base_` files merged in (mmcv's `Config.fromfile`, not executed)."""
    path = Path(path).resolve()
    if path in _seen:
        raise LSNetError(f"config {path}: `_base_` files include each other in a cycle")
    cfg = _read_file(path)
    bases = cfg.pop(BASE_KEY, [])
    if isinstance(bases, Unreadable):
        raise LSNetError(f"config {path}: _base_ cannot be read ({bases})")
    merged: dict = {}
    for base in [bases] if isinstance(bases, str) else bases:
        part = read_config(path.parent / base, (*_seen, path))
        repeated = sorted(set(merged) & set(part))
        if repeated:
            raise LSNetError(f"config {path}: key {repeated[0]!r} is set by two of its _base_ files")
        merged.update(part)
    return merge(cfg, merged)
