"""Server rows: ``cairn server`` over moto's S3 server against raw boto3 (issue 9 §1).

Everything runs on 127.0.0.1: moto's S3 server (``moto_server``) in a subprocess, one
bucket, and a ``cairn server`` (SQLite, blobs in ``s3://<bucket>/srv``) started as users
start it (``python -m cairn.cli server``, first admin from ``server create-admin``), as
``tests/serverproc.py`` does. Rows:

- upload of small: Cairn ``add_dir`` + ``log_artifact`` through the server (each round in
  a fresh team, so nothing is deduplicated) against raw boto3 ``put_object`` of the same
  files under a fresh prefix (8 threads; Cairn sends small files in batches that the
  server writes 8 at a time); all 20,000 files, one round;
- download of small: Cairn ``download`` of the 20,000-file version into a new folder (a
  fresh client cache; small blobs come down in batches through the server, which reads
  them from the bucket 8 at a time) against boto3 ``list_objects_v2`` + ``get_object`` of
  the same files (8 threads); one round;
- download of large: Cairn ``download`` of a version holding the 1 GiB file (a fresh
  client cache each round) against boto3 ``download_file`` of the same object with the
  same parallel ranges (4 x 16 MiB, the remote client's ``PART_WORKERS`` and
  ``RANGE_BYTES``);
- a version of 100,000 files: the REST manifest (the listing of its files), the web UI's
  version page and its files page (top folder and one folder of 1,000 files), each timed
  from the bench process with one warm HTTP client.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import jobs

BOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}

BOTO_PUTS = """
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
endpoint, bucket, prefix, root = sys.argv[1:5]
client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=8))
files = sorted(
    os.path.join(d, f) for d, _, names in os.walk(root) for f in names
)
def put(path):
    with open(path, "rb") as f:
        client.put_object(Bucket=bucket, Key=prefix + os.path.relpath(path, root), Body=f.read())
t0 = time.perf_counter()
with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(put, files))
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

BOTO_GET = """
import json, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
endpoint, bucket, key, dest = sys.argv[1:5]
client = boto3.client("s3", endpoint_url=endpoint)
config = TransferConfig(
    multipart_threshold=64 * 2**20, multipart_chunksize=16 * 2**20, max_concurrency=4
)
t0 = time.perf_counter()
client.download_file(bucket, key, dest, Config=config)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

BOTO_GETS = """
import json, os, sys, time
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
endpoint, bucket, prefix, dest = sys.argv[1:5]
client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=8))
t0 = time.perf_counter()
keys = [
    item["Key"]
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for item in page.get("Contents", [])
]
def get(key):
    path = os.path.join(dest, key[len(prefix):])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(client.get_object(Bucket=bucket, Key=key)["Body"].read())
with ThreadPoolExecutor(max_workers=8) as pool:
    list(pool.map(get, keys))
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

PAGE_FILES = 100_000
PAGE_FOLDERS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Servers:
    """moto + ``cairn server``, started on enter and stopped on exit."""

    def __init__(self, work: Path, directory: bool = False) -> None:
        """``directory``: the server keeps its blobs in ``<work>/store``, not in S3."""
        self.work = work
        self.directory = directory
        self.bucket = f"bench-{secrets.token_hex(4)}"
        self.s3_url = ""
        self.url = ""
        self.admin_key = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[Servers]:
        shutil.rmtree(self.work, ignore_errors=True)  # a fresh server database each run
        self.work.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
        env.update(BOTO_ENV)
        moto = None if self.directory else self._start_moto(env)
        try:
            home = self.work / "home"
            home.mkdir(exist_ok=True)
            env.update(
                CAIRN_DIR=str(home),
                XDG_CONFIG_HOME=str(home / "config"),
                AWS_ENDPOINT_URL_S3=self.s3_url,
            )
            db = f"sqlite:///{self.work / 'server.db'}"
            cli = [sys.executable, "-m", "cairn.cli", "server"]
            made = subprocess.run(
                [*cli, "create-admin", "--db", db, "--name", "root"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            self.admin_key = json.loads(made.stdout)["api_key"]
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            log = self.work / "server.log"
            store = str(self.work / "store") if self.directory else f"s3://{self.bucket}/srv"
            with open(log, "wb") as out:
                server = subprocess.Popen(
                    [*cli, "--db", db, "--store", store, "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait(f"{self.url}/health", server, log)
                yield self
            finally:
                _stop(server)
        finally:
            if moto is not None:
                _stop(moto)

    def _start_moto(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """moto's S3 server on a free port, with the bench's bucket."""
        port = free_port()
        self.s3_url = f"http://127.0.0.1:{port}"
        moto_log = self.work / "moto.log"
        with open(moto_log, "wb") as out:
            moto = subprocess.Popen(
                ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait(self.s3_url, moto, moto_log)
            import boto3

            boto3.client("s3", endpoint_url=self.s3_url, **_boto_kwargs()).create_bucket(
                Bucket=self.bucket
            )
        except BaseException:
            _stop(moto)
            raise
        return moto

    def new_team(self) -> str:
        name = f"b-{secrets.token_hex(5)}"
        response = httpx.post(
            f"{self.url}/api/v1/admin/teams",
            json={"name": name},
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=60,
        )
        response.raise_for_status()
        return name

    def client_env(self, team: str, work: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
        env.update(BOTO_ENV)
        env.update(
            CAIRN_BASE_URL=self.url,
            CAIRN_API_KEY=self.admin_key,
            CAIRN_ENTITY=team,
            CAIRN_CACHE_DIR=str(work / "cache"),
            CAIRN_ARTIFACT_DIR=str(work / "artifacts"),
            CAIRN_DIR=str(work / "cairn"),
            CAIRN_SILENT="true",
        )
        return env

    def boto_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
        env.update(BOTO_ENV)
        return env

    def put_raw(self, path: Path, key: str) -> None:
        """Upload ``path`` as ``key`` with boto3 (untimed set-up of the raw get)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3_url, **_boto_kwargs())
        client.upload_file(str(path), self.bucket, key)

    def put_raw_tree(self, root: Path, prefix: str) -> None:
        """Upload every file below ``root`` under ``prefix`` with boto3 (untimed set-up)."""
        subprocess.run(
            [sys.executable, "-c", BOTO_PUTS, self.s3_url, self.bucket, prefix, str(root)],
            env=self.boto_env(),
            check=True,
            capture_output=True,
        )

    def log(self, team: str, root: Path, name: str, work: Path) -> None:
        """Log ``root`` as artifact ``name`` in ``team`` (untimed set-up)."""
        subprocess.run(
            [sys.executable, "-c", jobs.CAIRN_ADD, str(root), name],
            env=self.client_env(team, work),
            cwd=work,
            check=True,
            capture_output=True,
        )

    def ui_client(self) -> httpx.Client:
        """An HTTP client signed in to the web UI with the admin key."""
        client = httpx.Client(base_url=self.url, timeout=120)
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        if token is None:
            raise RuntimeError("no CSRF token in the login form")
        response = client.post(
            "/login", data={"api_key": self.admin_key, "csrf_token": token.group(1), "next": "/"}
        )
        if response.status_code != 303:
            raise RuntimeError(f"UI sign-in failed: {response.status_code}")
        return client


def _boto_kwargs() -> dict[str, str]:
    return {
        "aws_access_key_id": BOTO_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": BOTO_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": BOTO_ENV["AWS_DEFAULT_REGION"],
    }


def page_set(data: Path) -> Path:
    """100,000 files of 32 B in 100 folders (one content, so one blob to upload: the rows
    time serving the version's pages, not the upload), made once under ``data``."""
    root = data / "page"
    done = data / "page.done"
    if done.exists():
        return root
    per = PAGE_FILES // PAGE_FOLDERS
    body = b"cairn bench: one file of a page\n"
    for folder in range(PAGE_FOLDERS):
        directory = root / f"d{folder:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        for index in range(per):
            (directory / f"f{folder * per + index:06d}.txt").write_bytes(body)
    done.touch()
    return root
