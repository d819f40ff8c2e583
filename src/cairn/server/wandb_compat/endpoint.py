"""``POST /graphql``: authenticate (HTTP Basic ``api:<key>``, or Bearer), read leniently,
execute against the facade's schema, answer ``{data, errors}``.

Leniency (docs/server.md): clients send input keys that servers of other releases may
not know, often as explicit nulls. Before validation, every variable value is pruned to
the input fields ``schema.graphql`` declares, so such keys are dropped rather than
refused. What the schema cannot answer (an unknown operation, field or argument) gets a
GraphQL error with HTTP 400, which the client treats as "not supported" for the optional
queries it probes with; every such request is logged with its operation name. So does an
operation that nests deeper or may cost more than the server's limits allow
(``cost.check_cost``), refused after validation and before any resolver runs. A key over
its rate (``RateLimitError`` from authentication) gets 429 with ``Retry-After``.

A resolver's error reaches the client with its message only when it is an expected
failure (``EXPECTED``: a ``CommError``, bad input as ``ValueError``, ``TypeError`` or
``KeyError``, a GraphQL error); any other exception is a bug whose message may hold
internals (SQL and its parameters, paths): the client gets "internal server error" at
that path, and the traceback goes to the server's log, as REST does for a 500.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ariadne import load_schema_from_path, make_executable_schema
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    is_input_type,
    parse,
    type_from_ast,
    validate,
)
from starlette.concurrency import run_in_threadpool

from cairn.errors import CommError, RateLimitError
from cairn.server import strict_json
from cairn.server.deps import StateDep
from cairn.server.errors import retry_after
from cairn.server.wandb_compat import resolvers
from cairn.server.wandb_compat.caller import caller_of
from cairn.server.wandb_compat.context import Ctx
from cairn.server.wandb_compat.cost import check_cost

log = logging.getLogger("cairn.server.wandb_compat")
router = APIRouter(include_in_schema=False)

# The failures whose message a client may read (see the module docstring).
EXPECTED: tuple[type[Exception], ...] = (CommError, ValueError, TypeError, KeyError)
INTERNAL_ERROR = "internal server error"

_SCHEMA: GraphQLSchema = make_executable_schema(
    load_schema_from_path(str(Path(__file__).with_name("schema.graphql"))), *resolvers.BINDABLES
)


def _prune(value: Any, gql_type: GraphQLInputType) -> Any:
    """``value`` without the input-object keys ``gql_type`` does not declare."""
    if isinstance(gql_type, GraphQLNonNull):
        return _prune(value, gql_type.of_type)
    if isinstance(gql_type, GraphQLList):
        if isinstance(value, list):
            return [_prune(item, gql_type.of_type) for item in value]
        return _prune(value, gql_type.of_type)
    if isinstance(gql_type, GraphQLInputObjectType) and isinstance(value, dict):
        fields = gql_type.fields
        dropped = sorted(set(value) - set(fields))
        if dropped:
            log.debug("wandb: ignoring input fields %s of %s", dropped, gql_type.name)
        return {k: _prune(v, fields[k].type) for k, v in value.items() if k in fields}
    return value


def _lenient_variables(
    operation: OperationDefinitionNode, variables: dict[str, Any]
) -> dict[str, Any]:
    out = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        gql_type = type_from_ast(_SCHEMA, definition.type)
        if name in out and is_input_type(gql_type):
            out[name] = _prune(out[name], gql_type)
    return out


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        for op in operations:
            if op.name is not None and op.name.value == name:
                return op
    return operations[0] if len(operations) == 1 or (operations and not name) else None


def _cause(error: GraphQLError) -> Exception | None:
    """The exception a resolver raised for ``error`` (None: an error of GraphQL itself)."""
    cause = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return None if isinstance(cause, GraphQLError) else cause


def _masked(error: GraphQLError, op_name: str) -> GraphQLError:
    """``error`` as the client may see it: an unexpected exception's message is replaced
    by ``INTERNAL_ERROR`` (its traceback logged), at the same place in the answer."""
    cause = _cause(error)
    if cause is None or isinstance(cause, EXPECTED):
        return error
    log.error("wandb: %r failed unexpectedly at %s", op_name, error.path, exc_info=cause)
    return GraphQLError(INTERNAL_ERROR, error.nodes, error.source, error.positions, error.path)


def _errors(
    errors: list[GraphQLError], status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [e.formatted for e in errors]}, status_code=status, headers=headers
    )


@router.post("/graphql")
async def graphql(request: Request, state: StateDep) -> JSONResponse:
    """Execute one GraphQL request of the wandb client."""
    try:
        caller = await run_in_threadpool(caller_of, request, state)
    except RateLimitError as exc:  # nothing was done: the client may send it again later
        return _errors([GraphQLError(str(exc))], 429, retry_after(exc))
    try:
        body = strict_json.parse(await request.body())
        query = body["query"]
        variables = body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise TypeError
    except HTTPException as exc:  # a duplicate key, or too deep
        return _errors([GraphQLError(str(exc.detail))], 400)
    except (ValueError, KeyError, TypeError, AttributeError):
        return _errors([GraphQLError("expected a JSON body {query, variables}")], 400)
    base_url = (state.config.public_url or str(request.base_url)).rstrip("/")
    ctx = Ctx(state=state, caller=caller, base_url=base_url)
    return await run_in_threadpool(_run, ctx, query, variables, body.get("operationName"))


def _run(ctx: Ctx, query: str, variables: dict[str, Any], name: str | None) -> JSONResponse:
    try:
        document = parse(query)
    except GraphQLError as exc:
        log.warning("wandb: unparsable GraphQL document: %s", exc.message)
        return _errors([exc], 400)
    operation = _operation(document, name)
    op_name = operation.name.value if operation is not None and operation.name else name or ""
    problems = validate(_SCHEMA, document)
    if problems or operation is None:
        log.warning(
            "wandb: unsupported request %r: %s",
            op_name,
            "; ".join(p.message for p in problems) or "no operation",
        )
        return _errors(problems or [GraphQLError("no operation to execute")], 400)
    refused = check_cost(_SCHEMA, document, op_name or None, variables, ctx.state.config.limits)
    if refused:
        log.warning("wandb: refused %r: %s", op_name, "; ".join(e.message for e in refused))
        return _errors(refused, 400)
    result = execute(
        _SCHEMA,
        document,
        context_value={"ctx": ctx},
        variable_values=_lenient_variables(operation, variables),
        operation_name=op_name or None,
    )
    assert isinstance(result, ExecutionResult)  # the resolvers are synchronous
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        errors = [_masked(e, op_name) for e in result.errors]
        log.warning("wandb: %r failed: %s", op_name, "; ".join(e.message for e in errors))
        payload["errors"] = [e.formatted for e in errors]
    return JSONResponse(payload, status_code=200)
