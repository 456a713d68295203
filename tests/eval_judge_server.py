"""A scripted OpenAI-compatible chat server on 127.0.0.1 for judge-client tests.

Each request takes the next action from ``script`` (then ``default``) and is
recorded with its headers (lower-cased names), JSON body and arrival time. Actions: ``("ok", score)``,
``("status", code, retry_after_or_None)``, ``("text", content)`` (a chat reply
whose content is arbitrary text), ``("raw", bytes)`` (a 200 whose body is not a chat
completion), ``("hang", seconds)``, ``("echo_auth", code)``
(an error body that repeats the Authorization header, as a careless proxy might),
or a callable ``body -> action``.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def chat_body(content: str) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                    "finish_reason": "stop"}]}).encode()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, code: int, body: bytes, headers: dict | None = None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with server.lock:
            server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                    "t": time.monotonic()})
            action = server.script.pop(0) if server.script else server.default
        if callable(action):
            action = action(body)
        kind = action[0]
        if kind == "ok":
            self._send(200, chat_body(json.dumps({"score": action[1], "reason": "fine"})))
        elif kind == "text":
            self._send(200, chat_body(action[1]))
        elif kind == "raw":
            self._send(200, action[1])
        elif kind == "status":
            headers = {"Retry-After": str(action[2])} if len(action) > 2 and action[2] is not None else {}
            self._send(action[1], b'{"error": {"message": "try later"}}', headers)
        elif kind == "echo_auth":
            self._send(action[1], json.dumps({"error": f"bad auth {self.headers.get('Authorization')}"}).encode())
        elif kind == "hang":
            time.sleep(action[1])
            try:
                self._send(200, chat_body('{"score": 5}'))
            except OSError:
                pass
        else:
            raise ValueError(kind)


class JudgeServer:
    def __init__(self, default=("ok", 7)):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.httpd.lock = threading.Lock()
        self.httpd.requests = []
        self.httpd.script = []
        self.httpd.default = default
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list:
        return self.httpd.requests

    def play(self, *actions, default=None):
        self.httpd.script[:] = list(actions)
        if default is not None:
            self.httpd.default = default

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
