"""The deployment files stay in step with `make cluster`: the systemd units run the cluster's
command lines, and the production nginx server block is valid with the cluster's nginx files."""

import re
import shlex
import shutil
import subprocess

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
