"""The servers' guards (gsv_core.api.limits): failed logins rate-limited per address, and the
API's request bodies limited in size — on a small Starlette app, with a clock we move."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from gsv_core.api.limits import BodyLimit, LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def login(request: Request) -> JSONResponse:
    form = await request.form()
    ok = form.get("password") == "right"
    return JSONResponse({"ok": ok}, status_code=200 if ok else 400)


async def tts(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"bytes": len(body)})


def client(clock: Clock) -> TestClient:
    app = Starlette(routes=[Route("/login", login, methods=["POST"]),
                            Route("/tts", tts, methods=["POST"]),
                            Route("/other", tts, methods=["POST"])],
                    middleware=[Middleware(LoginLimiter, attempts=3, window_s=60, clock=clock),
                                Middleware(BodyLimit, paths=["/tts"], max_bytes=1000)])
    return TestClient(app)


def test_failed_logins_are_limited_per_address_until_the_window_passes() -> None:
    clock = Clock()
    with client(clock) as http:
        assert [http.post("/login", data={"password": "wrong"}).status_code
                for _ in range(3)] == [400, 400, 400]
        blocked = http.post("/login", data={"password": "right"})  # even the right one
        assert blocked.status_code == 429 and "try again in 60 s" in blocked.json()["message"]
        assert blocked.headers["retry-after"] == "60"
        clock.now += 30
        assert http.post("/login", data={"password": "right"}).headers["retry-after"] == "30"
        clock.now += 31  # the first failure has left the window
        assert http.post("/login", data={"password": "right"}).status_code == 200
        # a success cleared the count: three more tries before the next wait
        assert [http.post("/login", data={"password": "wrong"}).status_code
                for _ in range(4)] == [400, 400, 400, 429]


def test_basic_auth_failures_count_and_other_requests_pass() -> None:
    clock = Clock()
    with client(clock) as http:
        for _ in range(3):
            http.post("/login", data={"password": "wrong"})
        assert http.post("/other", content=b"x").status_code == 200  # not a login: passes
        auth = http.post("/other", content=b"x", headers={"Authorization": "Basic eDp5"})
        assert auth.status_code == 429  # a request carrying credentials is a login


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_api_body_is_refused_before_the_route_reads_it(chunked: bool) -> None:
    with client(Clock()) as http:
        assert http.post("/tts", content=b"x" * 1000).json() == {"bytes": 1000}
        body = b"x" * 1001
        content = iter([body[:600], body[600:]]) if chunked else body
        refused = http.post("/tts", content=content)
        assert refused.status_code == 413 and "larger than 1,000 bytes" in refused.text
        assert "ref_audio_path" in refused.json()["message"]
        assert http.post("/other", content=b"x" * 5000).status_code == 200  # not an API path
