"""How deep a GraphQL operation nests and what it may cost, measured before it runs.

A small document can ask for an enormous answer: ``artifactSequence { artifacts { edges
{ node { artifactSequence { artifacts ...`` multiplies the work by a page at every turn,
and named fragments spread twice in each other double it at every step without making the
text longer. ``check_cost`` refuses such an operation after validation and before
execution, against the server's ``Limits`` (``graphql_max_depth``, ``graphql_max_cost``,
``max_page``; DESIGN §5: limits live in ``cairn.service.limits`` only).

The measures, for the operation that would execute (every operation of the document when
that cannot be told, so nothing runs unmeasured), with fragments, named and inline,
expanded where they are spread:

- depth: the number of fields on the longest path from the root to a leaf
  (``{ viewer { id } }`` is 2);
- cost: every field counts 1 times the product of the multipliers of the fields around
  it. A field that takes a ``first`` (or ``perPage``) argument multiplies by that value
  (a literal, or a variable of the request or its default, or the schema's default for
  the argument), cut to ``max_page``, or by
  ``max_page`` when it is not given; a field returning a list without such an argument
  by ``LIST_ESTIMATE``, except ``edges`` right under a paginated field, whose length is
  already counted by that field's page.

``@skip``/``@include`` are not evaluated and both sides of a type condition count: the
measure is an upper bound of the work. Each named fragment is measured once per
(fragment, context) and the result reused, so the work is linear in the document's size
however the fragments nest; a cycle of fragments (which validation refuses anyway)
counts as nothing where it closes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cairn.service.limits import Limits

LIST_ESTIMATE = 10
"""The assumed length of a list field that takes no page argument (aliases, tags, ...)."""

PAGE_ARGUMENTS = ("first", "perPage")
"""The arguments that bound how many items a field returns."""


@dataclasses.dataclass(frozen=True)
class Measure:
    """The ``depth`` and estimated ``cost`` of an operation (or of a selection set)."""

    depth: int
    cost: int


_NOTHING = Measure(0, 0)


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    limits: Limits,
) -> list[GraphQLError]:
    """The errors that refuse the operation for its depth or its cost; none when it fits.

    One error per limit exceeded, naming the limit and the value ("query depth 23 is
    over the limit of 15", "query cost 1234567 is over the limit of 50000"). A document
    nested too deeply for Python to walk is refused as too deep. Call it after
    validation (it assumes nothing of a valid document, but the numbers of an invalid
    one mean little) and before execution. Raises nothing.
    """
    try:
        found = measure(schema, document, operation_name, variables, limits.max_page)
    except RecursionError:
        message = f"query depth is over the limit of {limits.graphql_max_depth}"
        return [GraphQLError(message)]
    errors = []
    if found.depth > limits.graphql_max_depth:
        message = f"query depth {found.depth} is over the limit of {limits.graphql_max_depth}"
        errors.append(GraphQLError(message))
    if found.cost > limits.graphql_max_cost:
        message = f"query cost {found.cost} is over the limit of {limits.graphql_max_cost}"
        errors.append(GraphQLError(message))
    return errors


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    max_page: int,
) -> Measure:
    """The depth and cost of the operation ``operation_name`` of ``document``.

    When no operation has that name (or none is named) every operation is measured and
    the largest depth and cost are returned, so whichever one runs has been counted.
    Raises: RecursionError for a document nested beyond Python's recursion limit.
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if op.name is not None and op.name.value == operation_name]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    depth = cost = 0
    for operation in chosen or operations:
        root = schema.get_root_type(operation.operation)
        found = _Estimator(schema, fragments, _variables(operation, variables), max_page).run(
            operation.selection_set, root
        )
        depth, cost = max(depth, found.depth), max(cost, found.cost)
    return Measure(depth, cost)


def _variables(operation: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    """The request's variables, with the literal defaults of those it does not give (an
    explicit null stays null: the field then gets no page size at all)."""
    values = dict(given)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        default = definition.default_value
        if name not in values and isinstance(default, IntValueNode):
            values[name] = int(default.value)
    return values


class _Estimator:
    """One walk of one operation; fragment measures are reused within it."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        max_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.max_page = max_page
        self.memo: dict[tuple[str, bool], Measure] = {}
        self.active: set[str] = set()

    def run(self, selections: SelectionSetNode, root: GraphQLObjectType | None) -> Measure:
        return self.selection_set(selections, root, paginated=False)

    def selection_set(
        self, node: SelectionSetNode, parent: GraphQLNamedType | None, paginated: bool
    ) -> Measure:
        """The measure of ``node``'s selections, at a multiplier of 1. ``paginated``: the
        field that holds them took a page argument (its ``edges`` count once)."""
        depth = cost = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                found = self.field(selection, parent, paginated)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                found = self.selection_set(selection.selection_set, inner, paginated)
            elif isinstance(selection, FragmentSpreadNode):
                found = self.spread(selection.name.value, paginated)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            depth = max(depth, found.depth)
            cost += found.cost
        return Measure(depth, cost)

    def spread(self, name: str, paginated: bool) -> Measure:
        key = (name, paginated)
        known = self.memo.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return _NOTHING
        self.active.add(name)
        try:
            condition = self.schema.get_type(fragment.type_condition.name.value)
            found = self.selection_set(fragment.selection_set, condition, paginated)
        finally:
            self.active.discard(name)
        self.memo[key] = found
        return found

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, paginated: bool) -> Measure:
        definition = self.definition(parent, node.name.value)
        if definition is not None:
            takes_page = any(name in definition.args for name in PAGE_ARGUMENTS)
        else:
            takes_page = any(arg.name.value in PAGE_ARGUMENTS for arg in node.arguments or ())
        if node.selection_set is None:
            return Measure(1, 1)
        if takes_page:
            multiplier = self.page(node, definition)
        elif definition is not None and is_list_type(get_nullable_type(definition.type)):
            multiplier = 1 if node.name.value == "edges" and paginated else LIST_ESTIMATE
        else:
            multiplier = 1
        inner_type = get_named_type(definition.type) if definition is not None else None
        inner = self.selection_set(node.selection_set, inner_type, takes_page)
        return Measure(1 + inner.depth, 1 + multiplier * inner.cost)

    def definition(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        """The schema's field ``name`` of ``parent`` (introspection fields included)."""
        if name == "__typename":
            return TypeNameMetaFieldDef
        if parent is not None and parent is self.schema.query_type:
            if name == "__schema":
                return SchemaMetaFieldDef
            if name == "__type":
                return TypeMetaFieldDef
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            found: GraphQLField | None = parent.fields.get(name)
            return found
        return None

    def page(self, node: FieldNode, definition: GraphQLField | None) -> int:
        """How many items ``node`` asks for: its smallest page argument given, else the
        schema's default for it (the resolver gets that default too), cut to ``max_page``;
        ``max_page`` when there is neither."""
        pages = [
            self.value(arg.value)
            for arg in node.arguments or ()
            if arg.name.value in PAGE_ARGUMENTS
        ]
        given = [page for page in pages if page is not None]
        if not given and definition is not None:
            given = [
                int(argument.ast_node.default_value.value)
                for name, argument in definition.args.items()
                if name in PAGE_ARGUMENTS
                and argument.ast_node is not None
                and isinstance(argument.ast_node.default_value, IntValueNode)
            ]
        return min(max(0, min(given)), self.max_page) if given else self.max_page

    def value(self, node: ValueNode) -> int | None:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            value = self.variables.get(node.name.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None
