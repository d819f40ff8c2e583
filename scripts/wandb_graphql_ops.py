"""Extract the GraphQL operations an installed ``wandb`` client can send, and measure them.

Usage (with a Python that has graphql-core, and Cairn's ``src`` on ``PYTHONPATH``):

    python3 scripts/wandb_graphql_ops.py SITE_PACKAGES/wandb [--out DIR]

Sources: the operation strings embedded in the ``wandb-core`` binary (``bin/wandb-core``,
where every request of the client is sent from) and every string literal of the package's
Python files that parses as a GraphQL document with an operation (the generated
``_generated/operations.py`` modules, and the hand-written documents of
``wandb/apis/public``; an f-string's ``{NAME}`` is filled from a module-level string
constant of that name, other placeholders are dropped, and fragments a document spreads
but does not define are added from the other documents). Nothing of ``wandb`` is imported
or run.

Each distinct operation is validated against Cairn's ``schema.graphql``; for those that
validate, it prints the depth and cost ``cairn.server.wandb_compat.cost`` measures in the
worst case (every ``Int`` variable, and so every page size, at ``max_page``), and with
``--out`` writes them to ``DIR/<source>/<OperationName>.graphql``. The other operations are
listed with their first validation error (the server answers them 400 before measuring).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from cairn.server.wandb_compat.cost import measure
from cairn.server.wandb_compat.endpoint import _SCHEMA
from cairn.service.limits import DEFAULT_LIMITS

_START = re.compile(rb"(?:query|mutation) [A-Za-z_]\w*\s*[({]")
_FRAGMENT = re.compile(rb"\s*fragment [A-Za-z_]\w* on [A-Za-z_]\w*\s*\{")


def _balanced(data: bytes, start: int) -> int:
    """The offset just past the ``}`` closing the first ``{`` at or after ``start``."""
    depth = 0
    i = data.index(b"{", start)
    in_string = False
    while i < len(data):
        c = data[i : i + 1]
        if in_string:
            if c == b"\\":
                i += 1
            elif c == b'"':
                in_string = False
        elif c == b'"':
            in_string = True
        elif c == b"{":
            depth += 1
        elif c == b"}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced")


def core_documents(binary: Path) -> list[str]:
    """The operation documents (with the fragments following them) in ``wandb-core``."""
    data = binary.read_bytes()
    found = []
    for match in _START.finditer(data):
        try:
            end = _balanced(data, match.start())
            while fragment := _FRAGMENT.match(data, end):
                end = _balanced(data, fragment.start())
        except ValueError:
            continue
        found.append(data[match.start() : end].decode("utf-8", "replace"))
    return found


def _render(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The text of a string expression: literals, f-strings and ``+`` of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(_render(value.value, constants) or "")
            else:
                parts.append(_render(value, constants) or "")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left, constants), _render(node.right, constants)
        return None if left is None or right is None else left + right
    return None


def python_documents(package: Path) -> list[tuple[str, str]]:
    """(module, text) of every string expression in ``package`` that looks like GraphQL."""
    found = []
    for path in sorted(package.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        constants: dict[str, str] = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                text = _render(statement.value, constants)
                if isinstance(target, ast.Name) and text is not None:
                    constants[target.id] = text
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp):
                text = _render(node, constants)
                if text and re.search(r"\b(query|mutation)\b", text) and "{" in text:
                    found.append((module, text))
    return found


def _parsed(text: str) -> DocumentNode | None:
    try:
        return parse(text)
    except GraphQLError:
        return None


def _spreads(document: DocumentNode) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: object) -> None:
            names.add(node.name.value)

    visit(document, Spreads())
    return names


def operations(package: Path) -> dict[tuple[str, str], str]:
    """(source, operation name) → a document holding that one operation and its fragments."""
    sources: list[tuple[str, DocumentNode]] = []
    for text in core_documents(package / "bin" / "wandb-core"):
        if (document := _parsed(text)) is not None:
            sources.append(("core", document))
    for module, text in python_documents(package):
        if (document := _parsed(text)) is not None:
            sources.append((module, document))
    pool: dict[str, FragmentDefinitionNode] = {}
    for _source, document in sources:
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                pool.setdefault(definition.name.value, definition)
    result: dict[tuple[str, str], str] = {}
    for source, document in sources:
        local = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        for operation in document.definitions:
            if not isinstance(operation, OperationDefinitionNode) or operation.name is None:
                continue
            needed: dict[str, FragmentDefinitionNode] = {}
            todo = _spreads(DocumentNode(definitions=(operation,)))
            while todo:
                name = todo.pop()
                fragment = local.get(name) or pool.get(name)
                if fragment is None or name in needed:
                    continue
                needed[name] = fragment
                todo |= _spreads(DocumentNode(definitions=(fragment,)))
            ordered = [needed[name] for name in sorted(needed)]
            text = print_ast(DocumentNode(definitions=(operation, *ordered)))
            result.setdefault((source, operation.name.value), text)
    return result


def _worst(document: DocumentNode) -> dict[str, int]:
    """Variables that put every ``Int`` variable (page sizes) at ``max_page``."""
    return {
        definition.variable.name.value: DEFAULT_LIMITS.max_page
        for operation in document.definitions
        if isinstance(operation, OperationDefinitionNode)
        for definition in operation.variable_definitions or ()
        if print_ast(definition.type).rstrip("!") == "Int"
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="the installed wandb package directory")
    parser.add_argument("--out", type=Path, help="write the operations that validate here")
    args = parser.parse_args()
    found = operations(args.package)
    unique: dict[str, tuple[str, str]] = {}
    for (source, name), text in sorted(found.items()):
        unique.setdefault(text, (source, name))
    valid, refused = [], []
    for text, (source, name) in sorted(unique.items(), key=lambda item: item[1]):
        document = parse(text)
        problems = validate(_SCHEMA, document)
        if problems:
            refused.append((source, name, problems[0].message))
            continue
        measured = measure(_SCHEMA, document, name, _worst(document), DEFAULT_LIMITS.max_page)
        valid.append((measured.depth, measured.cost, source, name))
        if args.out is not None:
            target = args.out / source / f"{name}.graphql"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    print(f"{len(unique)} distinct operations; {len(valid)} validate against schema.graphql")
    for depth, cost, source, name in sorted(valid, key=lambda v: (-v[1], -v[0])):
        print(f"  depth {depth:3d}  cost {cost:7d}  {source}:{name}")
    print(f"max depth {max(v[0] for v in valid)}, max cost {max(v[1] for v in valid)}")
    print(f"{len(refused)} refused by validation:")
    for source, name, message in refused:
        print(f"  {source}:{name}: {message[:120]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
