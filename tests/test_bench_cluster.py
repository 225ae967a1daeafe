"""The plumbing of make bench's cluster section; its figures are the bench's business."""

import argparse
import socket
import threading

from bench import cluster


def test_cluster_section_is_skipped_in_one_line_without_postgresql_and_redis(
    capsys, monkeypatch, tmp_path
):
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):  # the PostgreSQL leg's
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    cluster.add_arguments(parser)
    args = parser.parse_args(
        ["--database-url", f"sqlite:///{tmp_path}/db", "--broker-url", "redis://127.0.0.1/10"]
    )
    args.quick = True

    assert cluster.section(args) == []
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1
    assert printed[0].startswith("cluster: skipped:")
    assert "DATABASE_URL" in printed[0] and "REDIS_URL" in printed[0]
    assert "CELERY_BROKER_URL" not in printed[0]


def test_relay_passes_a_tcp_connection_on_to_a_unix_socket_both_ways(tmp_path):
    path = str(tmp_path / "web.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()

    def echo_upper():
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data.upper())

    threading.Thread(target=echo_upper, daemon=True).start()
    with cluster._relay(path) as port, socket.create_connection(("127.0.0.1", port), 5) as client:
        client.sendall(b"hello")
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while data := client.recv(1024):
            answer += data
    server.close()
    assert answer == b"HELLO"
