"""Run nginx in the foreground, stopping it gracefully on SIGTERM, SIGINT or a hangup.

nginx takes SIGTERM and SIGINT as a fast shutdown that drops the requests in flight, such as a
long poll the web process is answering with no messages as it stops; SIGQUIT is nginx's graceful
shutdown, which lets them finish. honcho stops a process with SIGTERM to its whole process group,
so `make cluster` starts nginx through this module (`python -m console.graceful_nginx nginx …`),
which runs it in a process group of its own and turns the stop signal into SIGQUIT. Should this
wrapper die without a word, the kernel sends nginx SIGTERM, so no nginx outlives it.
"""

import ctypes
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def die_with_parent():
    """In a child, before it runs: have the kernel send it SIGTERM when its parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run(command):
    """Run nginx (`command`) until it exits; return its exit status."""
    nginx = subprocess.Popen(command, process_group=0, preexec_fn=die_with_parent)

    def stop_gracefully(signum, frame):
        if nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop_gracefully)
    return nginx.wait()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
