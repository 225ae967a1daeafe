"""First start: bootstrap writes the new secrets to a 0600 file, never to its output, and
`manage.py serve` shows them once the web process answers, then stops everything on Ctrl-C."""

import io
import os
import signal
import stat
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from console.models import AccessKey
from tests.servers import BASE_DIR, STOP_TIMEOUT, Roost, free_port, listening


def run_bootstrap():
    out = io.StringIO()
    call_command("bootstrap", "--port", "8123", stdout=out)
    return out.getvalue()


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_first_bootstrap_writes_the_secrets_to_a_private_file_only(data_dir):
    output = run_bootstrap()

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    [key] = AccessKey.objects.all()
    path = data_dir / "first-start-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    password = text.split("password:", 1)[1].split()[0]
    secret = text.split("AWS_SECRET_ACCESS_KEY=", 1)[1].split()[0]
    assert admin.check_password(password)
    assert f"AWS_ACCESS_KEY_ID={key.access_key_id}" in text
    assert "http://127.0.0.1:8123/" in text
    assert password not in output and secret not in output
    assert str(path) in output
    assert [p.name for p in data_dir.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.django_db
def test_later_bootstrap_creates_nothing_and_shows_no_secret(data_dir):
    run_bootstrap()
    path = data_dir / "first-start-credentials.txt"
    first = path.read_text()

    output = run_bootstrap()

    assert get_user_model().objects.count() == 1
    assert AccessKey.objects.count() == 1
    assert path.read_text() == first
    assert "password" not in output.lower().replace("its password is not shown", "")
    assert "AWS_SECRET_ACCESS_KEY" not in output
    assert f"still in {path}" in output

    path.unlink()
    assert "still in" not in run_bootstrap()


@pytest.mark.django_db
def test_file_is_created_private_even_with_a_permissive_umask(data_dir):
    old = os.umask(0)
    try:
        run_bootstrap()
    finally:
        os.umask(old)
    assert stat.S_IMODE((data_dir / "first-start-credentials.txt").stat().st_mode) == 0o600


def test_serve_shows_the_secrets_last_once_the_web_process_answers(tmp_path):
    """`manage.py serve` (what `make run` runs) on a Procfile of the web process alone."""
    roost = Roost(tmp_path)
    roost.manage("migrate", "--noinput")
    port = free_port()
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"web: {sys.executable} -m uvicorn console.asgi:application --port {port}\n"
    )
    serve = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--procfile", str(procfile)],
        cwd=BASE_DIR,
        env=roost.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        lines = []
        for line in serve.stdout:  # ends when the frame's last rule is shown (or serve exits)
            lines.append(line.decode())
            if lines[-1].startswith("=" * 72) and sum(x.startswith("=" * 72) for x in lines) == 2:
                break
        shown = "".join(lines)
        assert listening(port), shown
        credentials = (tmp_path / "first-start-credentials.txt").read_text()
        assert credentials in shown
        assert shown.index("Uvicorn running") < shown.index(credentials)
        assert "AWS_SECRET_ACCESS_KEY" not in shown[: shown.index("Roost is running")]

        os.killpg(serve.pid, signal.SIGINT)  # Ctrl-C at the terminal
        rest = serve.stdout.read().decode()
        assert serve.wait(timeout=STOP_TIMEOUT) == 0  # a stop asked for, and done cleanly
        assert "SIGINT received" in rest
        assert rest.count("SIGINT received") == 1
        assert not listening(port)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
