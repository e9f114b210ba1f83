"""The AST scan of one source file for `trainlock lint`.

Names are resolved through the file's imports (``import numpy as np`` makes
``np.random.rand`` read as ``numpy.random.rand``). Set-valued and clock-tainted names are
tracked per scope (module, function), statement by statement, one assignment deep: a
linter that stays quiet on what it cannot see, rather than one that guesses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from .rules import (
    ESTIMATOR_SUFFIXES,
    HYPERPARAMETERS,
    LISTINGS,
    NUMPY_NOT_DRAWS,
    ORDER_FREE,
    ORDERED_CONSUMERS,
    PATH_LISTING_METHODS,
    RANDOM_DRAWS,
    RANDOM_STATE_CALLABLES,
    RULES,
    SEED_KEYWORDS,
    SEEDING_CALLS,
    SHUFFLING_SPLITTERS,
    TORCH_DRAWS,
    TRAINING_METHODS,
    UNSEEDED_CONSTRUCTORS,
    WALL_CLOCK,
)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col} {self.code} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "code": self.code,
            "rule": RULES[self.code].name,
            "message": self.message,
        }


def scan_source(source: str, path: str) -> list[Finding]:
    """Every finding in ``source`` (before suppressions and rule selection), sorted by position."""
    tree = ast.parse(source, filename=path)
    scanner = _Scanner(path, tree)
    scanner.run()
    return sorted(set(scanner.findings))


class _Scanner:
    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.tree = tree
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}
        self.parents: dict[ast.AST, ast.AST] = {}
        #: (line, family) of each seeding call, for "drawn before any seeding call"
        self.seedings: list[tuple[int, str]] = []

    def run(self) -> None:
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                family = SEEDING_CALLS.get(self.qualified(node.func) or "")
                if family:
                    self.seedings.append((node.lineno, family))
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                self.check_call(node)
        for scope in self.scopes():
            self.check_scope(scope)

    # -- names ------------------------------------------------------------------------
    def qualified(self, node: ast.AST) -> str | None:
        """``np.random.rand`` -> ``numpy.random.rand`` through the imports; None for other expressions."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return ".".join(reversed(parts))

    def report(self, node: ast.expr | ast.stmt, code: str, what: str) -> None:
        message = f"{what}; {RULES[code].advice}"
        self.findings.append(Finding(self.path, node.lineno, node.col_offset + 1, code, message))

    # -- call rules -------------------------------------------------------------------
    def check_call(self, call: ast.Call) -> None:
        name = self.qualified(call.func) or ""
        last = name.rpartition(".")[2] if name else (call.func.attr if isinstance(call.func, ast.Attribute) else "")
        self.check_hyperparameters(call, last)
        self.check_random_state(call, last)
        self.check_global_rng(call, name)
        self.check_listing(call, name, last)

    def check_hyperparameters(self, call: ast.Call, last: str) -> None:
        if not last[:1].isupper():
            return  # constructors are CamelCase; functions get hyperparameters from their callers
        for keyword in call.keywords:
            if keyword.arg in HYPERPARAMETERS and _is_number_literal(keyword.value):
                self.report(
                    keyword.value,
                    "TL001",
                    f"{last}({keyword.arg}={ast.unparse(keyword.value)}) hard-codes a hyperparameter",
                )

    def check_random_state(self, call: ast.Call, last: str) -> None:
        if last in SHUFFLING_SPLITTERS:
            shuffles = any(
                k.arg == "shuffle" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords
            )
            if not shuffles:
                return
        elif last not in RANDOM_STATE_CALLABLES:
            return
        if any(keyword.arg is None for keyword in call.keywords):
            return  # **kwargs may carry it
        given = next((k for k in call.keywords if k.arg == "random_state"), None)
        if given is None:
            self.report(call, "TL002", f"{last} accepts random_state but gets none")
        elif isinstance(given.value, ast.Constant) and given.value.value is None:
            self.report(given.value, "TL002", f"{last} accepts random_state but gets None")

    def check_global_rng(self, call: ast.Call, name: str) -> None:
        module, _, attribute = name.rpartition(".")
        if name in UNSEEDED_CONSTRUCTORS:
            seeds = call.args[:1] or [k.value for k in call.keywords if k.arg in ("seed", "x")]
            if not seeds or (isinstance(seeds[0], ast.Constant) and seeds[0].value is None):
                self.report(call, "TL003", f"{name}() without a seed draws one from the operating system")
            return
        family = None
        if module == "numpy.random" and attribute not in NUMPY_NOT_DRAWS:
            family = "numpy"
        elif module == "random" and attribute in RANDOM_DRAWS:
            family = "random"
        elif module == "torch" and attribute in TORCH_DRAWS and not any(k.arg == "generator" for k in call.keywords):
            family = "torch"
        if family is None:
            return
        if any(line < call.lineno and seeded in (family, "*") for line, seeded in self.seedings):
            return
        self.report(call, "TL003", f"{name}() draws from the global {family} generator before any seeding call")

    def check_listing(self, call: ast.Call, name: str, last: str) -> None:
        is_listing = name in LISTINGS or (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in PATH_LISTING_METHODS
            and name not in ("glob.glob", "glob.iglob")
            and not name.startswith("glob.")
        )
        if not is_listing or self.order_free(call):
            return
        what = name if name in LISTINGS else f".{last}()"
        self.report(call, "TL005", f"{what} is used without sorted()")

    def order_free(self, node: ast.AST) -> bool:
        """Whether the value of ``node`` ends up where order does not matter (sorted, set, len, ...)."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.comprehension) and parent.iter is node:
            owner = self.parents.get(parent)
            if isinstance(owner, ast.SetComp):
                return True
            return owner is not None and self.order_free(owner)
        if isinstance(parent, ast.Call) and node in parent.args:
            consumer = self.qualified(parent.func)
            return consumer in ORDER_FREE
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            return self.sorted_later(parent.targets[0].id, parent)
        return False

    def sorted_later(self, name: str, assignment: ast.Assign) -> bool:
        """``files = os.listdir(d)`` followed by ``files.sort()`` in the same scope."""
        scope = self.parents.get(assignment)
        while scope is not None and not isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)):
            scope = self.parents.get(scope)
        for node in ast.walk(scope) if scope is not None else ():
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "sort"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and node.lineno >= assignment.lineno
            ):
                return True
        return False

    # -- scope rules: sets and clocks flowing through names ------------------------------
    def scopes(self) -> Iterator[list[ast.stmt]]:
        yield self.tree.body
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield node.body

    def check_scope(self, body: list[ast.stmt]) -> None:
        set_names: set[str] = set()
        tainted: dict[str, str] = {}
        for statement in _statements(body):
            if isinstance(statement, (ast.For, ast.AsyncFor)) and _is_set_expression(statement.iter, set_names):
                self.report(statement.iter, "TL004", "a for loop over a set runs in the set's arbitrary order")
            for node in _walk_scope(statement):
                if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.DictComp)) and not self.order_free(node):
                    for generator in node.generators:
                        if _is_set_expression(generator.iter, set_names):
                            self.report(
                                generator.iter,
                                "TL004",
                                "a comprehension over a set builds its output in the set's arbitrary order",
                            )
                if isinstance(node, ast.Call):
                    self.check_set_consumer(node, set_names)
                    self.check_clock_sink(node, tainted)
            if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                for name in names:
                    set_names.discard(name)
                    tainted.pop(name, None)
                    if _is_set_expression(statement.value, set_names):
                        set_names.add(name)
                    source = self.clock_source(statement.value, tainted)
                    if source:
                        tainted[name] = source

    def check_set_consumer(self, call: ast.Call, set_names: set[str]) -> None:
        name = self.qualified(call.func) or ""
        joins = isinstance(call.func, ast.Attribute) and call.func.attr == "join"
        if name not in ORDERED_CONSUMERS and not joins:
            return
        for argument in call.args[:1]:
            if _is_set_expression(argument, set_names):
                what = "join" if joins else name
                self.report(argument, "TL004", f"{what}() of a set takes the set's arbitrary order")

    def clock_source(self, expression: ast.AST, tainted: dict[str, str]) -> str | None:
        for node in ast.walk(expression):
            if isinstance(node, ast.Call) and self.qualified(node.func) in WALL_CLOCK:
                return self.qualified(node.func)
            if isinstance(node, ast.Name) and node.id in tainted:
                return tainted[node.id]
        return None

    def check_clock_sink(self, call: ast.Call, tainted: dict[str, str]) -> None:
        name = self.qualified(call.func) or ""
        last = name.rpartition(".")[2] if name else ""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        sink = (
            name in SEEDING_CALLS
            or name in UNSEEDED_CONSTRUCTORS
            or method in TRAINING_METHODS
            or last in RANDOM_STATE_CALLABLES
            or last.endswith(ESTIMATOR_SUFFIXES)
        )
        arguments = [(None, argument) for argument in call.args] + [(k.arg, k.value) for k in call.keywords]
        for keyword, argument in arguments:
            if not (sink or keyword in SEED_KEYWORDS):
                continue
            for node in ast.walk(argument):
                if isinstance(node, ast.Call) and self.qualified(node.func) in WALL_CLOCK:
                    source = self.qualified(node.func)
                elif isinstance(node, ast.Name) and node.id in tainted:
                    source = tainted[node.id]
                else:
                    continue
                callee = name if name in SEEDING_CALLS or name in UNSEEDED_CONSTRUCTORS else (last or method or name)
                into = f"{callee}({keyword}=...)" if keyword else f"{callee}()"
                self.report(node, "TL006", f"{source}() flows into {into}")
                break


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a scope in order, entering blocks (if, for, with, try) but not nested scopes."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _statements(getattr(statement, field, []) or [])
        for handler in getattr(statement, "handlers", []) or []:
            yield from _statements(handler.body)
        for case in getattr(statement, "cases", []) or []:
            yield from _statements(case.body)


def _walk_scope(statement: ast.stmt) -> Iterator[ast.AST]:
    """The expressions of one statement, without the statements nested in it (visited on their own)."""
    stack: list[ast.AST] = [child for child in ast.iter_child_nodes(statement) if not isinstance(child, ast.stmt)]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.stmt))


def _is_set_expression(node: ast.AST, set_names: set[str]) -> bool:
    if isinstance(node, (ast.Set, ast.SetComp)):
        return True
    if isinstance(node, ast.Name):
        return node.id in set_names
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
            return True
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("union", "intersection", "difference", "symmetric_difference")
            and _is_set_expression(node.func.value, set_names)
        ):
            return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub, ast.BitXor)):
        return _is_set_expression(node.left, set_names) and _is_set_expression(node.right, set_names)
    return False


def _is_number_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _is_number_literal(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return bool(node.elts) and all(_is_number_literal(element) for element in node.elts)
    return False
