"""A subscriber endpoint for the topic tests: confirms its subscription, fails every notification."""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FailingEndpoint:
    """An HTTP server on a free local port that answers SNS as a broken subscriber would.

    It visits the SubscribeURL of a SubscriptionConfirmation (from a thread of its own, after
    answering, so Roost is never waiting on itself) and answers every Notification with 500.
    """

    def __init__(self):
        self.notifications = []
        self.confirmed = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("x-amz-sns-message-type", "")
                if kind == "SubscriptionConfirmation":
                    self._answer(200)
                    url = json.loads(body)["SubscribeURL"]
                    threading.Thread(target=endpoint._confirm, args=(url,), daemon=True).start()
                else:
                    endpoint.notifications.append(body.decode())
                    self._answer(500)

            def _answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _confirm(self, url):
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read()
        self.confirmed.set()

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
