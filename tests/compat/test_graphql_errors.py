"""What the facade answers when a client asks for something it does not support: a
well-formed GraphQL error (HTTP 400, ``{"errors": [...]}``), which the client treats as
"feature off" for its optional queries, and a log line naming the operation; and complete
answers for the run mutations Cairn accepts but has nothing to do for.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from serverproc import ServerProcess


def post(server: ServerProcess, body: Any, key: str | None = None) -> httpx.Response:
    auth = ("api", key or server.admin_key)
    return httpx.post(f"{server.url}/graphql", json=body, auth=auth, timeout=60)


def logged(server: ServerProcess, text: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if text in server.log.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


def test_unknown_operations_get_graphql_errors_and_are_logged(wandb_server: ServerProcess) -> None:
    unknown = post(wandb_server, {"query": "query FutureThing { futureField { id } }"})
    assert unknown.status_code == 400
    errors = unknown.json()["errors"]
    assert "futureField" in errors[0]["message"] and "data" not in unknown.json()
    assert logged(wandb_server, "unsupported request 'FutureThing'")

    garbled = post(wandb_server, {"query": "query {", "variables": {}})
    assert garbled.status_code == 400 and garbled.json()["errors"][0]["message"]
    assert post(wandb_server, {"variables": {}}).json()["errors"][0]["message"]

    # an empty operationName executes the document's one operation; the features it names
    # are those this server implements, every other is off
    features = post(
        wandb_server,
        {"query": "{ serverInfo { features { name isEnabled } } }", "operationName": ""},
    )
    assert features.status_code == 200
    advertised = {f["name"] for f in features.json()["data"]["serverInfo"]["features"]}
    assert advertised == {
        "ARTIFACT_V2_DOWNLOAD_HANDLER_SUPPORTS_ARTIFACT_ID",
        "ARTIFACT_REGISTRY_SEARCH",
        "QUERY_AUTOMATIONS_ON_ENTITY",
        "AUTOMATION_EVENT_ADD_ARTIFACT_TAG",
        "AUTOMATION_EVENT_REMOVE_ARTIFACT_TAG",
        "AUTOMATION_EVENT_ADD_COLLECTION_TAG",
        "AUTOMATION_EVENT_REMOVE_COLLECTION_TAG",
        "AUTOMATION_EVENT_UNLINK_ARTIFACT",
        "AUTOMATION_ACTION_NO_OP",
    }


def test_accepted_run_mutations_answer_completely(wandb_server: ServerProcess) -> None:
    query = """mutation($e: String, $p: String, $r: String, $id: ID) {
        markRunFilesUploaded(input: {entityName: $e, projectName: $p, runName: $r,
                                     files: ["output.log"]}) { success }
        stopRun(input: {id: $id}) { success } }"""
    answer = post(wandb_server, {"query": query, "variables": {"e": "root", "p": "x", "r": "r1"}})
    assert answer.json() == {
        "data": {"markRunFilesUploaded": {"success": True}, "stopRun": {"success": False}}
    }


def test_bad_credentials_are_refused(wandb_server: ServerProcess) -> None:
    refused = post(wandb_server, {"query": "{ viewer { id } }"}, key="not-a-key")
    assert refused.status_code == 401
