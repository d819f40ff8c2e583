"""The bucket of an S3 server store: its URL, its boto3 client and the codes of its errors.

boto3 is imported when the first client is made (extra ``cairn[s3]``), so a server on a
directory store needs none of it.
"""

from __future__ import annotations

from typing import Any

from cairn.errors import MissingExtraError

POOL_CONNECTIONS = 64  # several batches and checks at once share the client
_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without slashes at the ends).

    Raises: ValueError (not an ``s3://`` URL with a bucket).
    """
    if not url.startswith("s3://"):
        raise ValueError(f"Invalid S3 store {url!r}: expected s3://bucket/prefix")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"Invalid S3 store {url!r}: expected s3://bucket/prefix")
    return bucket, prefix.strip("/")


def open_client(endpoint_url: str | None, region: str | None) -> Any:
    """A boto3 S3 client (SigV4, retries, a pool for parallel requests).

    Raises: MissingExtraError (boto3 is not installed).
    """
    try:
        import boto3  # noqa: PLC0415 - boto3 comes with the s3 extra
        from botocore.config import Config  # noqa: PLC0415 - boto3 comes with the s3 extra
    except ImportError:
        raise MissingExtraError(
            "an s3:// server store requires the boto3 library, run pip install cairn[s3]"
        ) from None
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(
            signature_version="s3v4",
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=POOL_CONNECTIONS,
        ),
    )


def error_code(exc: Exception) -> str:
    """The S3 error code of a botocore error ("" for another error)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def is_missing(exc: Exception) -> bool:
    """Whether ``exc`` says the object, bucket or upload asked for does not exist."""
    return error_code(exc) in _MISSING
