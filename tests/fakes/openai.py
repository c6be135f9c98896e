"""The one fake OpenAI-compatible API of the tests and the content benchmark, on a
`FakeServer`: `POST /v1/chat/completions` (a JSON answer, or server-sent events when the
request says `stream`, with a usage chunk when `stream_options.include_usage`) and
`POST /v1/embeddings` (deterministic bag-of-words vectors, `fake_embedding`).

Both check `Authorization: Bearer <api_key>` (a wrong key is a 401 `invalid_api_key`, and
nothing is recorded). The answer is `reply`: a text, or a function of the request body
(`section_answer`, the content tests'). What was asked is kept: `chats` (every chat request
body) and `embedded` (every text sent to be embedded).

Failures on demand, for chat completions: `fail_with` answers every request with that HTTP
status (OpenAI's error body); `script` steps are consumed one per request: ("status", code),
("delay", seconds), ("answer", text) (answered instead of `reply`), ("hold", threading.Event)
(answer once the event is set, 60 s at most) or ("break", n, seconds) (a stream that stalls
for `seconds` after `n` chunks, then ends). `delay` slows every chat answer and `embed_delay`
every embeddings answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable

import numpy as np

from tests.fakes.http import FakeServer, Response, body_json, json_response

API_KEY = "sk-test-Zq8RwXx4a8b3c2d1e0f9"
EMBED_DIMENSIONS = 64
REPLY = "You can return any item within 30 days [1]."
ERRORS = {  # status: (message, type, code), as OpenAI answers them
    400: ("Invalid request.", "invalid_request_error", "invalid_request_error"),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    429: ("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
}


def fake_embedding(text: str) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vector = np.zeros(EMBED_DIMENSIONS, dtype=np.float64)
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % EMBED_DIMENSIONS] += 1
    norm = np.linalg.norm(vector) or 1.0
    return [round(float(x), 6) for x in vector / norm]


def section_answer(body: dict) -> str:
    """ "<Section> text for <title>." from the last user message: the first text between “ ”
    quotes names the section, the second the title; so a test can tell which request wrote what."""
    prompt = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
    names = re.findall(r"“([^”]*)”", prompt)
    section = names[0] if names else "Content"
    title = names[1] if len(names) > 1 else "the topic"
    return f"{section} text for {title}."


def error(status: int, message: str | None = None) -> Response:
    default, kind, code = ERRORS.get(status, ("The server had an error.", "server_error", "server_error"))
    return json_response(status, {"error": {"message": message or default, "type": kind, "param": None, "code": code}})


class FakeOpenAI(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        reply: str | Callable[[dict], str] = REPLY,
        prompt_tokens: int = 42,
        delay: float = 0.0,
        **server,
    ):
        super().__init__(**server)
        self.api_key, self.reply, self.prompt_tokens, self.delay = api_key, reply, prompt_tokens, delay
        self.embed_delay = 0.0
        self.chats: list[dict] = []
        self.embedded: list[str] = []
        self.script: list[tuple] = []
        self.fail_with: int | None = None
        self.base_url = f"{self.base}/v1"
        self.route("POST", "/v1/chat/completions", self._authorized(self._chat))
        self.route("POST", "/v1/embeddings", self._authorized(self._embeddings))

    def _authorized(self, handler):
        def check(request: dict) -> Response:
            given = request["headers"].get("Authorization", "").removeprefix("Bearer ")
            if given != self.api_key:
                return error(401, f"Incorrect API key provided: {given[:7]}*****.")
            return handler(request)

        return check

    def _embeddings(self, request: dict) -> Response:
        body = body_json(request)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        time.sleep(self.embed_delay)
        with self.lock:
            self.embedded.extend(texts)
        data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(texts)]
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return json_response(200, {"object": "list", "model": body["model"], "data": data, "usage": usage})

    def _chat(self, request: dict) -> Response:
        body = body_json(request)
        with self.lock:
            self.chats.append(body)
            step = ("status", self.fail_with) if self.fail_with else self.script.pop(0) if self.script else None
        kind = step[0] if step else None
        if kind == "status":
            return error(step[1])
        if kind == "hold":
            step[1].wait(60)
        time.sleep(step[1] if kind == "delay" else self.delay)
        content = step[1] if kind == "answer" else self.reply(body) if callable(self.reply) else self.reply
        words = content.split(" ")
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": len(words),
            "total_tokens": self.prompt_tokens + len(words),
        }
        base = {"id": "chatcmpl-test", "created": 1700000000, "model": body.get("model", "gpt-test")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": content}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return json_response(200, {**base, "object": "chat.completion", "usage": usage, "choices": [choice]})
        stall = step[1:] if kind == "break" else None
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Response(
            200, content_type="text/event-stream", chunks=self._events(base, words, usage, with_usage, stall)
        )

    @staticmethod
    def _events(base: dict, words: list[str], usage: dict, with_usage: bool, stall: tuple | None):
        chunk = {**base, "object": "chat.completion.chunk"}

        def event(data) -> bytes:
            return f"data: {json.dumps(data)}\n\n".encode()

        for n, word in enumerate(words):
            if stall and n == stall[0]:
                time.sleep(stall[1])  # past the client's timeout
                return
            delta = {"content": word if n == 0 else f" {word}", **({"role": "assistant"} if n == 0 else {})}
            yield event({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        yield event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if with_usage:
            yield event({**chunk, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"
