"""Two guards in front of the servers (issue 14 item 4): failed logins are rate-limited per
address, and request bodies of the API's routes have a size limit.

Both are plain ASGI middleware, so the UI's Gradio app (through its ``app_kwargs``) and the
standalone API (FastAPI) take the same ones. Why they are needed: Gradio's ``/login`` and
the API's basic-auth check answer every guess at once, so a share link's password could be
tried as fast as the network allows; and a body of any size was read whole into memory
before the route looked at it.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

__all__ = ["LOGIN_ATTEMPTS", "LOGIN_WINDOW_S", "MAX_API_BODY_BYTES", "BodyLimit",
           "LoginLimiter"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGIN_ATTEMPTS = 5      # failed logins allowed per address ...
LOGIN_WINDOW_S = 60.0   # ... in this many seconds; then every login waits for the window
MAX_API_BODY_BYTES = 1024 * 1024  # a /tts request is text and a few numbers (20,000 chars: 60 kB)
_REFUSED = {400, 401, 403}


async def _answer(send: Send, status: int, message: str,
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = json.dumps({"message": message, "detail": message}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class LoginLimiter:
    """After ``attempts`` refused logins from one address within ``window_s``, its logins
    get 429 (with Retry-After) until the oldest failure leaves the window.

    A login is a POST to one of ``login_paths`` (Gradio's form) or any request carrying an
    ``Authorization`` header (the API's basic auth); refused means 400/401/403. A success
    clears the address's count.
    """

    def __init__(self, app: ASGIApp, *, login_paths: Collection[str] = ("/login",),
                 attempts: int = LOGIN_ATTEMPTS, window_s: float = LOGIN_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.login_paths = frozenset(login_paths)
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _is_login(self, scope: Scope) -> bool:
        if scope["method"] == "POST" and scope["path"] in self.login_paths:
            return True
        return any(name.lower() == b"authorization" for name, _ in scope.get("headers", ()))

    def _wait_s(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            failures = self._failures.get(client)
            if not failures:
                return 0.0
            while failures and now - failures[0] >= self.window_s:
                failures.popleft()
            if len(failures) < self.attempts:
                return 0.0
            return self.window_s - (now - failures[0])

    def _record(self, client: str, status: int) -> None:
        with self._lock:
            if status in _REFUSED:
                self._failures.setdefault(client, deque()).append(self.clock())
            elif 200 <= status < 400:
                self._failures.pop(client, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_login(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self._wait_s(client)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await _answer(send, 429, f"Too many failed logins from this address; try again "
                                     f"in {seconds} s.",
                          ((b"retry-after", str(seconds).encode()),))
            return
        status = [0]

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        await self.app(scope, receive, watched)
        self._record(client, status[0])


class BodyLimit:
    """Requests to ``paths`` with a body over ``max_bytes`` get 413, before the route reads
    it: by its Content-Length, or, for a body sent without one, as soon as it passes the
    limit."""

    def __init__(self, app: ASGIApp, *, paths: Collection[str],
                 max_bytes: int = MAX_API_BODY_BYTES) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.max_bytes = max_bytes

    def _too_big(self) -> str:
        return (f"The request body is larger than {self.max_bytes:,} bytes. Send the text and "
                "the settings only; audio goes by path (ref_audio_path).")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", ())).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _answer(send, 413, self._too_big())
            return
        seen = [0]
        started = [False]

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started[0]:
                await _answer(send, 413, self._too_big())


class _BodyTooLarge(Exception):
    """Raised inside the app's receive when a body without a length passes the limit."""
