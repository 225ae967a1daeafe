"""What `make cluster` runs: nginx in front of two web processes, two Celery workers and beat.

The production layout on one machine. Every process runs its Procfile command line: the web
processes serve Unix sockets in the data directory instead of HOST:PORT, and nginx, listening on
HOST:PORT, spreads requests over them round-robin. The units in deploy/systemd/ run the same
commands (tests/cluster/ checks that they stay in step). All of them share one PostgreSQL
database and Redis as the Celery broker; the embedded defaults (SQLite files in one process's
data directory) cannot be shared that way, so `refusal` turns them down.
"""

import grp
import os
import pwd
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
from django.template import Context, Engine

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOY_DIR = BASE_DIR / "deploy"
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "cluster.conf"
PROCFILE = BASE_DIR / "Procfile"

WEB_PROCESSES = 2
# Procfile entries the cluster runs once each, exactly as the Procfile says; exactly one beat.
BACKGROUND = ("worker", "outbound", "beat")
# Ask uvicorn for the Procfile's web command on a socket rather than an address.
ADDRESS_OPTIONS = ("--host", "--port", "--uds", "--fd")
SOCKET_PATH_MAX = 107  # a Unix socket's path (sun_path) holds at most 108 bytes with its NUL
REDIS_SCHEMES = ("redis://", "rediss://")
NGINX_SEARCH_PATH = "/usr/sbin:/sbin"  # where Debian puts nginx, often not on a user's PATH
APT_GET = ("apt-get", "install", "-y", "nginx")


class ClusterError(Exception):
    """Why the cluster cannot start, in one line."""


def refusal(environ):
    """Why these settings cannot run a cluster (one line), or None when they can.

    Every process must see the same data: PostgreSQL for the database and Redis for the Celery
    broker (the embedded broker is a SQLite file). REDIS_URL is optional: live pages read the
    database, so they see every process's changes with or without a shared channel layer.
    """
    database = environ.get("DATABASE_URL", "").strip()
    if not database:
        return "DATABASE_URL is not set: the cluster needs PostgreSQL, e.g. DATABASE_URL=postgres://user@host:5432/roost"
    try:
        engine = dj_database_url.parse(database)["ENGINE"]
    except Exception as error:  # dj_database_url raises several types for a URL it cannot read
        return f"DATABASE_URL cannot be read ({error}): the cluster needs a postgres:// URL"
    if "postgresql" not in engine:
        what = "SQLite" if "sqlite" in engine else engine.rsplit(".", 1)[-1]
        return f"DATABASE_URL points at {what}: the cluster's processes share one PostgreSQL database, e.g. DATABASE_URL=postgres://user@host:5432/roost"
    broker = environ.get("CELERY_BROKER_URL", "").strip()
    if not broker:
        return "CELERY_BROKER_URL is not set: the cluster needs Redis as the Celery broker, e.g. CELERY_BROKER_URL=redis://host:6379/0"
    if not broker.startswith(REDIS_SCHEMES):
        what = "the embedded broker (SQLite)" if broker.startswith("sqla+") else "no Redis server"
        return f"CELERY_BROKER_URL points at {what}: the cluster needs Redis as the Celery broker, e.g. CELERY_BROKER_URL=redis://host:6379/0"
    redis = environ.get("REDIS_URL", "").strip()
    if redis and not redis.startswith(REDIS_SCHEMES):
        return "REDIS_URL is not a redis:// URL: leave it unset, or name Redis, e.g. REDIS_URL=redis://host:6379/1"
    return None


@dataclass(frozen=True)
class Layout:
    """Where a cluster keeps its generated files, sockets and nginx's state: one directory in
    the data directory, written afresh at each start."""

    directory: Path

    @classmethod
    def in_data_dir(cls, data_dir):
        return cls(Path(data_dir).resolve() / "cluster")

    def socket(self, number):
        return self.directory / f"web-{number}.sock"

    @property
    def sockets(self):
        return [self.socket(number) for number in range(1, WEB_PROCESSES + 1)]

    @property
    def nginx_conf(self):
        return self.directory / "nginx.conf"

    @property
    def procfile(self):
        return self.directory / "Procfile"

    @property
    def access_log(self):
        return self.directory / "nginx-access.log"

    def prepare(self):
        """Create the directory (and nginx's temporary one); refuse socket paths too long."""
        longest = max(len(os.fsencode(socket)) for socket in self.sockets)
        if longest > SOCKET_PATH_MAX:
            raise ClusterError(
                f"the data directory's path is too long for the web processes' Unix sockets "
                f"({longest} bytes, at most {SOCKET_PATH_MAX}): choose a shorter ROOST_DATA_DIR"
            )
        (self.directory / "nginx-temp").mkdir(parents=True, exist_ok=True)


def read_procfile(path=PROCFILE):
    """The Procfile's processes: name -> command line, in order."""
    processes = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def web_command(procfile_web, socket):
    """The Procfile's web command, serving a Unix socket behind nginx instead of HOST:PORT.

    Only nginx reaches the socket, so uvicorn trusts the X-Forwarded-* headers nginx sets.
    """
    args, skip = [], False
    for arg in shlex.split(procfile_web):
        if skip:
            skip = False
        elif arg in ADDRESS_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{option}=" for option in ADDRESS_OPTIONS)):
            args.append(arg)
    return shlex.join([*args, "--uds", str(socket), "--forwarded-allow-ips", "*"])


def nginx_args(nginx, layout):
    return [nginx, "-e", "stderr", "-p", f"{layout.directory}/", "-c", str(layout.nginx_conf)]


def nginx_command(nginx, layout):
    """nginx under console.graceful_nginx, which stops it with SIGQUIT (graceful) on SIGTERM;
    `python` is the virtual environment's, on the PATH like the other processes' commands."""
    return shlex.join(["python", "-m", "console.graceful_nginx", *nginx_args(nginx, layout)])


def processes(layout, nginx, procfile=PROCFILE):
    """Every process of the cluster: name -> shell command line, in start order."""
    entries = read_procfile(procfile)
    missing = [name for name in ("web", *BACKGROUND) if name not in entries]
    if missing:
        raise ClusterError(f"{procfile} has no {', '.join(missing)} process")
    commands = {"nginx": nginx_command(nginx, layout)}
    for number, socket in enumerate(layout.sockets, start=1):
        commands[f"web-{number}"] = web_command(entries["web"], socket)
    commands.update((name, entries[name]) for name in BACKGROUND)
    return commands


def procfile_text(commands):
    lines = [
        "# The processes of `make cluster`, written by `manage.py cluster` at every start.",
        *(f"{name}: {command}" for name, command in commands.items()),
    ]
    return "\n".join(lines) + "\n"


def listen_address(host, port):
    """nginx's `listen` for HOST and PORT ([::]:8000 for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def nginx_conf(layout, host, port):
    """The cluster's nginx.conf, rendered from deploy/nginx/cluster.conf."""
    user = None
    if os.geteuid() == 0:
        # A root master would run its workers as `nobody`, who may not reach the sockets and
        # temporary files in the data directory.
        user = f"{pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name}"
    template = Engine(autoescape=False).from_string(NGINX_TEMPLATE.read_text(encoding="utf-8"))
    context = {
        "directory": layout.directory,
        "deploy": DEPLOY_DIR,
        "sockets": layout.sockets,
        "listen": listen_address(host, port),
        "user": user,
    }
    return template.render(Context(context))


def find_nginx():
    """nginx's path, or None."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', os.defpath)}:{NGINX_SEARCH_PATH}")


def install_nginx(out):
    """Install Debian's nginx package with apt-get (as root); return nginx's path.

    Debian's package starts its own nginx service unless a policy forbids it: that one is not
    the cluster's, which runs its own nginx on its own configuration.
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClusterError(
            "nginx is not installed and only root with apt-get can install it here: "
            "run `sudo apt-get install -y nginx` (or install nginx another way), then start again"
        )
    out(f"nginx is not installed: running `{' '.join(APT_GET)}` …")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(APT_GET, env=environment, stdin=subprocess.DEVNULL).returncode != 0:
        # A fresh machine may have no package lists yet.
        out("Updating the package lists (apt-get update) and trying again …")
        subprocess.run(("apt-get", "update"), env=environment, stdin=subprocess.DEVNULL)
        if subprocess.run(APT_GET, env=environment, stdin=subprocess.DEVNULL).returncode != 0:
            raise ClusterError(
                "`apt-get install -y nginx` failed (see above): install nginx, then start again"
            )
    nginx = find_nginx()
    if nginx is None:
        raise ClusterError(
            "apt-get installed nginx but no nginx command is on the PATH or in /usr/sbin"
        )
    return nginx


def check_nginx_conf(nginx, layout):
    """Let nginx check the generated configuration, so a mistake stops the start in one line."""
    result = subprocess.run(
        [*nginx_args(nginx, layout), "-t", "-q"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "[emerg]" in line] or ["?"]
        raise ClusterError(f"nginx refuses {layout.nginx_conf}: {lines[0]}")
