"""The handler registry and the shared rules: credentials, paths, limits, missing extras."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cairn.storage.references import default_registry
from cairn.storage.references.base import (
    HandlerOptions,
    entry_path,
    object_limit,
    redact,
    refuse_credentials,
)
from cairn.storage.references.file import LocalFileHandler
from cairn.storage.references.gcs import GCSHandler
from cairn.storage.references.http import HTTPHandler
from cairn.storage.references.s3 import S3Handler
from cairn.storage.references.tracking import TrackingHandler


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("s3://b/k", S3Handler),
        ("gs://b/k", GCSHandler),
        ("http://h/x", HTTPHandler),
        ("https://h/x", HTTPHandler),
        ("file:///tmp/x", LocalFileHandler),
        ("foo://bar", TrackingHandler),
        ("wandb-client-artifact://id/x", TrackingHandler),
    ],
)
def test_registry_picks_by_scheme(uri: str, kind: type) -> None:
    assert type(default_registry(HandlerOptions()).handler_for(uri)) is kind


@pytest.mark.parametrize(
    "uri",
    [
        "https://user:pw@example.com/x",
        "https://token@example.com/x",
        "s3://AKIA:secret@bucket/key",
        "https://h/x?X-Amz-Credential=c&X-Amz-Signature=s",
        "https://h/x?x-goog-signature=s",
        "https://h/x?GoogleAccessId=a&Signature=s",
        "https://acct.blob.core.windows.net/c/b?sv=1&sig=s",
        "https://h/x?access_token=t",
    ],
)
def test_credentials_are_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="must not carry credentials") as info:
        refuse_credentials(uri)
    for secret in ("pw", "secret", "AKIA", "=s", "=t"):
        assert secret not in str(info.value)


def test_plain_queries_are_kept() -> None:
    refuse_credentials("https://h/x.csv?y=1&versionId=3")
    assert redact("https://u:p@h:8/x?sig=1#f") == "https://h:8/x"


def test_entry_paths_and_limits() -> None:
    assert entry_path(None, "data/x/y.txt", None) == "y.txt"
    assert entry_path("n", "data/x/y.txt", None) == "n"
    assert entry_path(None, "data/x/y.txt", "data") == "x/y.txt"
    assert entry_path(None, "data/x/y.txt", "data/") == "x/y.txt"
    assert entry_path("n", "data2/y.txt", "data") == "n/data2/y.txt"
    with pytest.raises(ValueError, match="Invalid artifact path"):
        entry_path(None, "p/../../etc/passwd", "p")
    assert object_limit(None) == object_limit(0) == 10_000_000
    with pytest.raises(ValueError, match="at least 1"):
        object_limit(-1)


@pytest.mark.parametrize(
    ("module", "uri", "extra"),
    [
        ("boto3", "s3://b/k", "cairn[s3]"),
        ("google.cloud.storage", "gs://b/k", "cairn[gcs]"),
        ("azure.storage.blob", "https://a.blob.core.windows.net/c/b", "cairn[azure]"),
    ],
)
def test_a_missing_sdk_names_the_extra(module: str, uri: str, extra: str) -> None:
    """In a fresh interpreter where the SDK cannot be imported (as if not installed)."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from cairn.errors import MissingExtraError\n"
        "from cairn.storage.references import default_registry\n"
        "from cairn.storage.references.base import HandlerOptions\n"
        "try:\n"
        f"    handler = default_registry(HandlerOptions()).handler_for({uri!r})\n"
        f"    handler.store_path({uri!r}, 'n', False, None)\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"pip install {extra}" in out.stdout


def test_import_cairn_loads_no_storage_sdk() -> None:
    code = (
        "import sys, cairn\n"
        "heavy = [m for m in ('httpx', 'boto3', 'google.cloud.storage', 'azure.storage.blob')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cloud_handlers_check_their_endpoint() -> None:
    def refuse(host: str) -> None:
        raise ValueError(f"Refusing {host}")

    options = HandlerOptions(s3_endpoint_url="http://10.0.0.9:9000", address_check=refuse)
    with pytest.raises(ValueError, match=r"^Refusing 10\.0\.0\.9$"):
        default_registry(options).handler_for("s3://b/k").store_path("s3://b/k", None, True, None)
    azure = "https://acct.blob.core.windows.net/c/b"
    with pytest.raises(ValueError, match=r"^Refusing acct\.blob\.core\.windows\.net$"):
        default_registry(options).handler_for(azure).store_path(azure, None, True, None)
