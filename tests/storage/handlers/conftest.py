"""Fixtures: real storage servers (one per test session and worker) and settings aimed at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
import refservers
from cairn.sdk._upward import RunTarget
from cairn.sdk.artifact import Artifact
from cairn.sdk.backend_cache import backend_for


@pytest.fixture(scope="session")
def http_server() -> Iterator[refservers.HttpServer]:
    with refservers.HttpServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        with refservers.moto_s3() as url:
            yield url


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    with refservers.fake_gcs() as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORAGE_EMULATOR_HOST", url)
        yield url


@pytest.fixture(scope="session")
def azure_connection_string() -> Iterator[str]:
    with refservers.azurite() as connection:
        yield connection


@pytest.fixture
def s3(s3_endpoint: str, cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A boto3 client of the moto server; Cairn's settings point at it too."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def gcs(gcs_endpoint: str, cairn_dir: Path) -> Any:
    """A google-cloud-storage client of the fake-gcs-server."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        credentials=AnonymousCredentials(),
        project="test",
        client_options={"api_endpoint": gcs_endpoint},
    )


@pytest.fixture
def azure(azure_connection_string: str, cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A ``BlobServiceClient`` of Azurite; Cairn's settings use the same connection string."""
    from azure.storage.blob import BlobServiceClient

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_connection_string)
    return BlobServiceClient.from_connection_string(azure_connection_string)


@pytest.fixture
def log(cairn_dir: Path) -> Callable[[Artifact], Artifact]:
    """Log a draft to ``tester/proj`` the way ``Run.log_artifact`` does; return it."""

    def _log(artifact: Artifact) -> Artifact:
        artifact._log(RunTarget(backend_for(), "tester", "proj", None), aliases=None, tags=None)
        return artifact

    return _log
