"""Monitoring a server (docs/server.md "Monitoring"): ``/metrics`` in Prometheus text
format for the allowed addresses only, ``/ready`` failing while the database or the store
is down, and ``--log-format json`` lines that parse and carry no secret."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from cairn.server.metrics_access import allowed, parse_allow
from cairn.service.limits import Limits
from serverproc import running_server

from .conftest import pg_database, run_server, server_config
from .gate_world import log, md5_b64, ok

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: httpx.Client) -> Samples:
    """Every sample of ``/metrics``, parsed by prometheus_client's own parser."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_bytes_and_commits(tmp_path: Path) -> None:
    config = server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path)
    with run_server(config) as server, server.client(server.admin_key) as admin:
        before = scrape(admin)
        log(admin, "root", "p", "data", {"a.txt": b"alpha" * 100})
        log(admin, "root", "p", "data", {"a.txt": b"alpha" * 100})  # the digest no-op
        assert admin.get("/api/v1/nope-nothing-here").status_code == 404
        after = scrape(admin)

    scraped = {"route": "/metrics", "method": "GET", "status": "200"}
    assert value(after, "cairn_http_requests_total", **scraped) == (
        value(before, "cairn_http_requests_total", **scraped) + 1
    )
    commit_route = "/api/v1/entities/{entity}/projects/{project}/versions"
    assert (
        value(after, "cairn_http_requests_total", route=commit_route, method="POST", status="200")
        == 2
    )
    assert (
        value(after, "cairn_http_request_duration_seconds_count", route=commit_route, method="POST")
        == 2
    )
    assert value(after, "cairn_http_request_bytes_total", route=commit_route) > 0
    assert value(after, "cairn_http_response_bytes_total", route=commit_route) > 0
    assert value(after, "cairn_commits_total", outcome="created") == 1
    assert value(after, "cairn_commits_total", outcome="unchanged") == 1
    assert value(after, "cairn_commit_duration_seconds_count") == 2
    # Routes are templates: an unknown path is "unmatched", never a series of its own.
    routes = {dict(labels).get("route") for _name, labels in after}
    assert "unmatched" in routes
    assert not any("nope" in (route or "") or "root" in (route or "") for route in routes)


def test_metrics_count_refusals_for_rate(tmp_path: Path) -> None:
    config = server_config(
        f"sqlite+pysqlite:///{tmp_path / 'server.db'}",
        tmp_path,
        limits=Limits(max_body_bytes=1024 * 1024, rate_limit=1),
    )
    with run_server(config) as server, server.client(server.admin_key) as admin:
        statuses = [admin.get("/api/v1/whoami").status_code for _ in range(5)]
        refused = statuses.count(429)
        assert refused >= 1, statuses
        samples = scrape(admin)  # /metrics needs no key, so it is never refused for rate
    assert value(samples, "cairn_rate_limited_total") == refused


def test_metrics_are_refused_to_other_addresses(tmp_path: Path) -> None:
    config = server_config(
        f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path, metrics_allow=("10.0.0.0/8",)
    )
    with run_server(config) as server, server.client(server.admin_key) as admin:
        response = admin.get("/metrics")  # from 127.0.0.1, not allowed here, key or not
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        assert "cairn_" not in response.text
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_the_allow_list_takes_addresses_networks_and_host_names() -> None:
    networks = parse_allow(["127.0.0.1", "::1", "10.0.0.0/8", "localhost"])
    assert allowed("127.0.0.1", networks)
    assert allowed("::1", networks)
    assert allowed("10.20.30.40", networks)
    assert allowed("::ffff:10.1.2.3", networks)  # an IPv4 client on an IPv6 socket
    assert not allowed("11.0.0.1", networks)
    assert not allowed("::2", networks)
    assert not allowed("testclient", networks)  # not an address
    assert not allowed(None, networks)  # a Unix socket: no address
    assert not allowed("127.0.0.1", parse_allow([]))
    with pytest.raises(ValueError, match="'not a host!'"):
        parse_allow(["not a host!"])


def _remove_bucket(store_url: str, endpoint: str) -> None:
    import boto3

    bucket = boto3.resource("s3", endpoint_url=endpoint).Bucket(
        store_url[5:].split("/", maxsplit=1)[0]
    )
    bucket.objects.all().delete()
    bucket.delete()


@pytest.mark.parametrize("kind", ["dir", "s3"])
def test_ready_fails_while_the_store_is_gone(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    changes: dict[str, str] = {}
    if kind == "s3":
        changes["store_url"] = request.getfixturevalue("s3_store_url")
        changes["s3_endpoint_url"] = request.getfixturevalue("moto_endpoint")
    config = server_config(f"sqlite+pysqlite:///{tmp_path / 'server.db'}", tmp_path, **changes)
    with run_server(config) as server:
        ready = httpx.get(f"{server.url}/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "store": "ok"}
        if config.store_url is None:
            shutil.rmtree(config.store_dir)
        else:
            _remove_bucket(config.store_url, changes["s3_endpoint_url"])
        down = httpx.get(f"{server.url}/ready", timeout=60)
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "database": "ok", "store": "unreachable"}
        assert httpx.get(f"{server.url}/health").status_code == 200  # alive, not ready


def test_ready_fails_while_the_database_is_down(postgres_admin_url: str, tmp_path: Path) -> None:
    with pg_database(postgres_admin_url) as url, run_server(server_config(url, tmp_path)) as server:
        assert httpx.get(f"{server.url}/ready").status_code == 200
        name = make_url(url).database
        admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
                connection.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}'"
                )
            down = httpx.get(f"{server.url}/ready", timeout=60)
            assert down.status_code == 503
            assert down.json() == {
                "status": "unavailable",
                "database": "unreachable",
                "store": "ok",
            }
            with admin.connect() as connection:
                connection.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            assert httpx.get(f"{server.url}/ready", timeout=60).status_code == 200
        finally:
            admin.dispose()


def test_text_access_lines_show_no_query_string(tmp_path: Path) -> None:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    with running_server(tmp_path, db) as server:
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=server.url, headers=headers) as c:
            data = b"text log" * 10
            log(c, "root", "p", "data", {"a.txt": data})
            blobs = [{"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}]
            signed = ok(c.post("/api/v1/entities/root/blobs/download-urls", json={"blobs": blobs}))
            url = httpx.URL(signed["urls"][0]["url"])
            assert httpx.get(url).content == data
    text = server.log.read_text()  # read once stopped: a line follows its response
    assert f'"GET {url.path} HTTP/1.1" 200' in text
    assert url.params["sig"] not in text and "sig=" not in text


def test_json_logs_parse_and_carry_no_secret(tmp_path: Path) -> None:
    db = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    args = ("--log-format", "json")
    with running_server(tmp_path, db, args=args) as server:
        key = server.admin_key
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
            whoami = ok(c.get("/api/v1/whoami"))
            data = b"some bytes" * 10
            log(c, "root", "p", "data", {"a.txt": data})
            blobs = [{"digest": md5_b64(data), "algorithm": "md5", "size": len(data)}]
            signed = ok(c.post("/api/v1/entities/root/blobs/download-urls", json={"blobs": blobs}))
            url = signed["urls"][0]["url"]
            assert httpx.get(url).content == data
            traced = c.get("/api/v1/whoami", headers={"X-Request-ID": "trace-42"})
            assert traced.headers["x-request-id"] == "trace-42"
            assert c.get("/api/v1/whoami", headers={"Authorization": "Bearer wrong"}).is_error
    # Read once the server has stopped: a request's line is written after its response.
    text = server.log.read_text()

    signature = httpx.URL(url).params["sig"]
    assert key not in text
    assert key.split("_", 2)[2] not in text  # not even the key's secret part (it may hold "_")
    assert signature not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    requests = [line for line in lines if line["logger"] == "cairn.access"]
    for line in requests:
        assert set(line) >= {
            "time",
            "request_id",
            "key_id",
            "method",
            "route",
            "path",
            "status",
            "duration_ms",
            "bytes_in",
            "bytes_out",
        }
        assert "?" not in line["path"]
    mine = [line for line in requests if line["route"] == "/api/v1/whoami"]
    assert [line["status"] for line in mine] == [200, 200, 401]
    assert mine[0]["key_id"] == whoami["key_id"]
    assert mine[1]["request_id"] == "trace-42"
    assert mine[2]["key_id"] is None  # a key that was not accepted is not named
    transfer = [line for line in requests if line["path"].startswith("/blobs/")]
    assert {line["method"] for line in transfer} == {"PUT", "GET"}
    download = next(line for line in transfer if line["method"] == "GET")
    assert download["key_id"] == whoami["key_id"]  # the key the URL was issued to
    assert download["bytes_out"] == len(data)
    assert download["route"] == "/blobs/{entity}/{algorithm}/{hexdigest}"
