"""The deployment files and docs/deploy.md stay in step with `make cluster`: the systemd units run
the cluster's command lines, the production nginx server block is valid with the cluster's nginx
files, and the document shows what the repository holds."""

import re
import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from console import cluster
from tests.servers import BASE_DIR

SYSTEMD = BASE_DIR / "deploy" / "systemd"
SITE = BASE_DIR / "deploy" / "nginx" / "roost-site.conf"
INSTALL_DIR = "/opt/roost"
SOCKET = "{socket}"


def exec_start(unit):
    """The unit's ExecStart as arguments, systemd's %% unescaped, the venv's path dropped."""
    [line] = [
        line for line in (SYSTEMD / unit).read_text().splitlines() if line.startswith("ExecStart=")
    ]
    args = shlex.split(line.removeprefix("ExecStart=").replace("%%", "%"))
    args[0] = args[0].removeprefix(f"{INSTALL_DIR}/.venv/bin/")
    return args


def normalized(command):
    """A command line as arguments, with the web socket's path as a placeholder."""
    args = shlex.split(command)
    if "--uds" in args:
        args[args.index("--uds") + 1] = SOCKET
    return args


@pytest.fixture
def layout(tmp_path):
    return cluster.Layout(tmp_path)


def test_units_run_the_cluster_commands(layout):
    commands = cluster.processes(layout, "/usr/sbin/nginx")

    web = exec_start("roost-web@.service")
    assert web[web.index("--uds") + 1] == "/run/roost/web-%i.sock"
    web[web.index("--uds") + 1] = SOCKET
    for number in range(1, cluster.WEB_PROCESSES + 1):
        assert normalized(commands[f"web-{number}"]) == web
    for name in cluster.BACKGROUND:
        assert exec_start(f"roost-{name}.service") == normalized(commands[name]), name
    assert exec_start("roost-migrate.service") == ["python", "manage.py", "migrate", "--noinput"]


def test_target_starts_as_many_of_each_process_as_the_cluster():
    wanted = [
        unit
        for line in (SYSTEMD / "roost.target").read_text().splitlines()
        if line.startswith("Wants=")
        for unit in line.removeprefix("Wants=").split()
    ]
    webs = [f"roost-web@{number}.service" for number in range(1, cluster.WEB_PROCESSES + 1)]
    background = [f"roost-{name}.service" for name in cluster.BACKGROUND]
    assert sorted(wanted) == sorted(["roost-migrate.service", *webs, *background])


def test_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in SYSTEMD.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALL_DIR, str(BASE_DIR)))
    units = [
        f"./{name}" for name in sorted(path.name for path in tmp_path.iterdir()) if "@." not in name
    ] + ["./roost-web@1.service"]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_production_server_block_is_valid_nginx(tmp_path):
    nginx = cluster.find_nginx()
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed")
    certificate, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=roost.example.com", "-keyout", key, "-out", certificate],
        check=True, capture_output=True,
    )  # fmt: skip
    site = SITE.read_text().replace(INSTALL_DIR, str(BASE_DIR))
    site = re.sub(r"/etc/letsencrypt/live/roost.example.com/", f"{tmp_path}/", site)
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "roost-site.conf").write_text(site)
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        + "".join(
            f"    {kind}_temp_path {temp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {tmp_path}/roost-site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-e", "stderr", "-p", f"{tmp_path}/", "-c", tmp_path / "nginx.conf", "-t"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def code_blocks(language):
    """The bodies of docs/deploy.md's code blocks in this language."""
    blocks, inside, wanted = [], False, False
    for line in (BASE_DIR / "docs" / "deploy.md").read_text().splitlines(True):
        fence = line.strip()
        if not inside and fence.startswith("```"):
            inside, wanted = True, fence == f"```{language}"
            if wanted:
                blocks.append("")
        elif inside and fence == "```":
            inside = False
        elif inside and wanted:
            blocks[-1] += line
    return blocks


def test_deploy_doc_shows_the_server_block_of_the_repository():
    site = "".join(line for line in SITE.read_text().splitlines(True) if not line.startswith("#"))
    assert code_blocks("nginx") == [site]
    sockets = re.findall(r"server unix:(\S+);", site)
    assert sockets == [f"/run/roost/web-{n}.sock" for n in range(1, cluster.WEB_PROCESSES + 1)]


def test_deploy_doc_shows_the_procfile_make_cluster_writes():
    layout = cluster.Layout(Path("/var/lib/roost/cluster"))
    written = cluster.procfile_text(cluster.processes(layout, "/usr/sbin/nginx"))
    [shown] = [block for block in code_blocks("") if block.startswith("nginx: ")]
    assert shown == written.split("\n", 1)[1]  # without the comment that opens the file


def test_sqlite_online_backup_copies_a_database_in_use(tmp_path):
    """The backup command docs/deploy.md gives for the embedded default, while a writer holds
    the WAL database open."""
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 command is not installed")
    source, copy = tmp_path / "roost.sqlite3", tmp_path / "roost-backup.sqlite3"
    writer = sqlite3.connect(source)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE message (body TEXT)")
        writer.executemany("INSERT INTO message VALUES (?)", [("one",), ("two",)])
        writer.commit()
        writer.execute("INSERT INTO message VALUES ('uncommitted')")  # a transaction in flight

        subprocess.run(["sqlite3", source, f".backup {copy}"], check=True, timeout=30)
    finally:
        writer.close()
    with sqlite3.connect(copy) as backup:
        assert backup.execute("SELECT body FROM message ORDER BY body").fetchall() == [
            ("one",),
            ("two",),
        ]
