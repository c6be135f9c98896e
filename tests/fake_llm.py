"""A local OpenAI-compatible chat-completions server for the content tests and benchmark:
stdlib ThreadingHTTPServer on 127.0.0.1, deterministic answers, scripted failures, delays.

Answers: "<Section> text for <title>." built from the request's prompt (the words between
the first “ ” quotes are the section's name), so a test can tell which request wrote what.
`script` steps are consumed one per request: ("status", 500 | 429 | 401 ...), ("delay", s),
("answer", text) (that text answered instead) or ("hold", threading.Event) (answer once the
event is set, or after 60 s). `fail_with` answers every request with that status.
`requests` records each request body.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "sk-content-test-0123456789"
ERRORS = {
    401: ("Incorrect API key provided.", "invalid_api_key"),
    429: ("Rate limit reached for requests.", "rate_limit_exceeded"),
    400: ("Invalid request.", "invalid_request_error"),
}


def answer_for(body: dict) -> str:
    prompt = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    names = re.findall(r"“([^”]*)”", prompt)
    section = names[0] if names else "Content"
    title = names[1] if len(names) > 1 else "the topic"
    return f"{section} text for {title}."


class FakeLLM:
    def __init__(self, *, api_key: str = API_KEY, delay: float = 0.0):
        self.api_key, self.delay = api_key, delay
        self.requests: list[dict] = []
        self.script: list[tuple] = []
        self.fail_with: int | None = None
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_step(self, body: dict):
        with self.lock:
            self.requests.append(body)
            if self.fail_with:
                return ("status", self.fail_with)
            return self.script.pop(0) if self.script else None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client is gone (a killed worker)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}})
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    message, code = ERRORS[401]
                    return self._json(
                        401, {"error": {"message": message, "type": "invalid_request_error", "code": code}}
                    )
                step = fake._next_step(body)
                if step and step[0] == "status":
                    message, code = ERRORS.get(step[1], ("The server had an error.", "server_error"))
                    return self._json(step[1], {"error": {"message": message, "type": "server_error", "code": code}})
                if step and step[0] == "hold":
                    step[1].wait(60)
                if step and step[0] == "delay":
                    time.sleep(step[1])
                elif fake.delay:
                    time.sleep(fake.delay)
                content = step[1] if step and step[0] == "answer" else answer_for(body)
                words = len(content.split())
                self._json(
                    200,
                    {
                        "id": "chatcmpl-content",
                        "object": "chat.completion",
                        "created": 1700000000,
                        "model": body.get("model", "gpt-test"),
                        "usage": {"prompt_tokens": 30, "completion_tokens": words, "total_tokens": 30 + words},
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                        ],
                    },
                )

        return Handler
