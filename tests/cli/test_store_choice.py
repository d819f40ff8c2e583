"""Every command says which store it works on; ``cairn logout`` is the way back from
``cairn login``; the embedded-only commands say why they refuse while a server is in use."""

from __future__ import annotations

from pathlib import Path

from cairn.settings import credentials_path
from clirun import cairn, ok, ok_json, one_line_error
from serverproc import ServerProcess


def test_login_status_logout(cairn_dir: Path, cairn_server_sqlite: ServerProcess) -> None:
    url = cairn_server_sqlite.url
    assert ok("status").splitlines()[0] == f"embedded store {cairn_dir}"
    assert ok("gc", "--dry-run").splitlines()[0] == f"embedded store {cairn_dir}"

    ok("login", "--base-url", url, "--api-key", cairn_server_sqlite.admin_key, "--quiet")
    assert ok("status", "--quiet").strip() == (
        f"server {url} as root (cairn login, saved in {credentials_path()}; "
        "`cairn logout` to leave)"
    )
    status = ok_json("status")
    assert (status["mode"], status["location"], status["user"]) == ("server", url, "root")
    assert status["source"] == str(credentials_path())
    assert ok("ls").splitlines()[0] == f"server {url} as root"
    for command in ("gc", "fsck", "ui"):
        line = one_line_error(cairn(command), f"cairn {command} works on the embedded store only")
        assert f"you are logged in to the server {url}" in line
        assert "`cairn logout` goes back to the embedded store" in line
        assert "CAIRN_BASE_URL" not in line
        if command != "ui":
            assert f"`cairn server {command} --db URL --store URL` does it" in line
    by_env = cairn("gc", env={"CAIRN_BASE_URL": url})
    one_line_error(by_env, f"CAIRN_BASE_URL points commands at the server {url}", "unset it")

    assert ok("logout").strip() == (
        f"logged out of {url}; commands now use the embedded store {cairn_dir}"
    )
    assert not credentials_path().exists()
    assert ok_json("status")["mode"] == "embedded"
    assert "no problems" in ok("fsck")
    assert ok_json("logout")["logged_out"] is False
    assert ok("logout", env={"CAIRN_BASE_URL": url}).strip() == (
        "not logged in; CAIRN_BASE_URL is still set, so commands use its server"
    )


def test_a_damaged_login_file_is_removed_by_logout(cairn_dir: Path) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    one_line_error(cairn("status"), "Cannot read the credentials file")
    assert ok("logout").startswith("logged out of the server; commands now use the embedded")
    assert ok("status").splitlines()[0] == f"embedded store {cairn_dir}"
