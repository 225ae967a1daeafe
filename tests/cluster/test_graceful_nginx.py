"""`make cluster` runs nginx through console.graceful_nginx: a stop signal lets the request in
flight finish (SIGQUIT, nginx's graceful shutdown) instead of dropping it (SIGTERM's fast one).

The upstream here is the test's own HTTP server, which says when the request has reached it and
answers only after the stop signal has been sent.
"""

import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from console import cluster
from tests.servers import STOP_TIMEOUT, free_port, listening, wait_until

NGINX_CONF = """\
pid {directory}/nginx.pid;
events {{}}
http {{
    access_log off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    server {{
        listen 127.0.0.1:{port};
        location / {{ proxy_pass http://127.0.0.1:{upstream_port}; }}
    }}
}}
"""


class HeldUpstream(ThreadingHTTPServer):
    """Answers each GET 200 "answered", once `release` is set; `arrived` is set on arrival."""

    daemon_threads = True

    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), HeldRequest)


class HeldRequest(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.arrived.set()
        self.server.release.wait(STOP_TIMEOUT)
        body = b"answered"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def shutting_down(wrapper_pid):
    """Whether an nginx worker under the wrapper says it is shutting down (graceful shutdown
    lets its workers finish their requests; a fast one ends them at once)."""
    titles = subprocess.run(
        ["ps", "-e", "-o", "ppid=,pid=,args="], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    processes = [line.split(None, 2) for line in titles]
    masters = {pid for ppid, pid, *_ in processes if ppid == str(wrapper_pid)}
    return any(
        ppid in masters and "is shutting down" in (rest or [""])[0]
        for ppid, pid, *rest in processes
    )


@pytest.fixture
def upstream():
    server = HeldUpstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_request_in_flight_when_nginx_is_stopped_gets_its_answer(tmp_path, upstream, signum):
    nginx = cluster.find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (make cluster and .ci/run install it)")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(directory=tmp_path, port=port, upstream_port=upstream.server_port)
    )
    command = [nginx, "-e", "stderr", "-p", f"{tmp_path}/", "-c", str(conf), "-g", "daemon off;"]
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "console.graceful_nginx", *command], process_group=0
    )
    try:
        wait_until(lambda: listening(port), what="nginx to listen")
        answer = {}

        def get():
            answer["response"] = httpx.get(f"http://127.0.0.1:{port}/", timeout=STOP_TIMEOUT)

        client = threading.Thread(target=get)
        client.start()
        assert upstream.arrived.wait(STOP_TIMEOUT), "the request never reached the upstream"

        # As honcho stops a process: the signal to its whole process group.
        os.killpg(wrapper.pid, signum)
        wait_until(lambda: shutting_down(wrapper.pid), what="nginx to begin its shutdown")
        upstream.release.set()
        client.join(STOP_TIMEOUT)

        assert answer["response"].status_code == 200
        assert answer["response"].text == "answered"
        assert wrapper.wait(STOP_TIMEOUT) == 0
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
