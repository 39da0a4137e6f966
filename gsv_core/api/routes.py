"""The endpoints of upstream's ``api_v2.py`` (48b1a01), answering as it answers.

``/tts`` (GET and POST), ``/set_gpt_weights``, ``/set_sovits_weights``, ``/set_refer_audio``
and ``/control``. Success is the audio with ``audio/<media_type>`` (or
``{"message": "success"}``); a refusal is 400 ``{"message": ...}``. Differences, on purpose:
a request upstream crashes on (500) or rejects by type (422) is a 400 naming the field;
``/control`` answers 403 unless the server has a login; when it has one, every endpoint asks
for it (HTTP Basic: ``http://user:password@host:port/tts?...`` in most clients).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from gsv_core.api.params import TtsRequest, parse_tts_request
from gsv_core.api.service import ChunkStream, TtsService
from gsv_core.errors import GsvError
from gsv_core.infer.audio_io import CONTENT_TYPES

__all__ = ["CONTROL_COMMANDS", "add_api_routes", "api_router"]

log = logging.getLogger(__name__)

CONTROL_COMMANDS = ("restart", "exit")


def _explained(exc: GsvError, **extra: str) -> dict[str, str]:
    """``message`` as upstream words it (``"text_lang is required"``), with our ``advice`` (and
    the guideline ``rule``) beside it: extra keys upstream's clients do not read."""
    body = {"message": exc.message, **extra}
    if exc.advice:
        body["advice"] = exc.advice
    if exc.rule:
        body["rule"] = exc.rule
    return body


def _refusal(exc: GsvError) -> JSONResponse:
    return JSONResponse(status_code=400, content=_explained(exc))


def _failure(what: str, exc: Exception) -> JSONResponse:
    """A GsvError is the client's to fix (400, as upstream's ``"... failed"`` answers); anything
    else is a bug of ours, logged and answered 500."""
    if isinstance(exc, GsvError):
        return JSONResponse(status_code=400, content=_explained(exc, Exception=exc.message))
    log.exception("%s failed", what)
    return JSONResponse(status_code=500, content={"message": f"{what} failed: internal error",
                                                  "Exception": repr(exc)})


def _query(request: Request) -> dict[str, Any]:
    """The query as the body would carry it: a repeated ``aux_ref_audio_paths`` is a list."""
    raw: dict[str, Any] = dict(request.query_params)
    if "aux_ref_audio_paths" in raw:
        raw["aux_ref_audio_paths"] = request.query_params.getlist("aux_ref_audio_paths")
    return raw


def _query_parameters() -> list[dict[str, Any]]:
    """OpenAPI descriptions of the GET parameters (the route reads the query itself, so that a
    wrong value is a 400 naming it, not FastAPI's 422)."""
    schema = TtsRequest.model_json_schema()["properties"]
    return [{"name": name, "in": "query", "required": False, "schema": field}
            for name, field in schema.items()]


def api_router(service: TtsService) -> APIRouter:
    """The API's routes bound to one service (also used to mount them on the UI's server)."""

    def login_refusal(request: Request) -> JSONResponse | None:
        """None when the request may go on: no login is set, or it carries the right one."""
        if service.login is None:
            return None
        user, password = service.login
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            given_user, _, given_password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            given_user = given_password = ""
        ok_user = secrets.compare_digest(given_user.encode(), user.encode())
        ok_password = secrets.compare_digest(given_password.encode(), password.encode())
        if scheme.lower() == "basic" and ok_user and ok_password:
            return None
        return JSONResponse(status_code=401, content={"message": "login required"},
                            headers={"WWW-Authenticate": 'Basic realm="GSV Studio API"'})

    router = APIRouter()

    async def tts(request: Request, raw: dict[str, Any]) -> Response:
        if (refusal := login_refusal(request)) is not None:
            return refusal
        try:
            params = parse_tts_request(
                raw, has_default_reference=service.default_reference is not None)
            stream = service.start(params)
        except GsvError as exc:
            return _refusal(exc)
        content_type = CONTENT_TYPES[params.media_type]
        try:
            first = await _first_chunk(request, stream)
        except Exception as exc:
            return _failure("tts", exc)
        if first is None:  # the client left while it waited
            return Response(status_code=499)
        if not params.streaming:
            await _drain(stream)
            return Response(first, media_type=content_type)
        return StreamingResponse(stream.chunks(first), media_type=content_type)

    @router.get("/tts", openapi_extra={"parameters": _query_parameters()})
    async def tts_get(request: Request) -> Response:
        return await tts(request, _query(request))

    @router.post("/tts", openapi_extra={"requestBody": {"content": {"application/json": {
        "schema": TtsRequest.model_json_schema()}}}})
    async def tts_post(request: Request) -> Response:
        body = await request.body()
        try:
            raw = json.loads(body) if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return JSONResponse(status_code=400, content={
                "message": f"the body is not JSON: {exc}"})
        if not isinstance(raw, dict):
            return JSONResponse(status_code=400, content={
                "message": "the body must be a JSON object of the /tts parameters"})
        return await tts(request, raw)

    @router.get("/set_gpt_weights")
    async def set_gpt_weights(request: Request, weights_path: str | None = None
                              ) -> JSONResponse:
        return login_refusal(request) or await _run_setter(
            service.set_gpt_weights, weights_path, "change gpt weight")

    @router.get("/set_sovits_weights")
    async def set_sovits_weights(request: Request, weights_path: str | None = None
                                 ) -> JSONResponse:
        return login_refusal(request) or await _run_setter(
            service.set_sovits_weights, weights_path, "change sovits weight")

    @router.get("/set_refer_audio")
    async def set_refer_audio(request: Request, refer_audio_path: str | None = None
                              ) -> JSONResponse:
        return login_refusal(request) or await _run_setter(
            service.set_reference, refer_audio_path, "set refer audio")

    async def control(request: Request, command: str | None) -> JSONResponse:
        if (refusal := login_refusal(request)) is not None:
            return refusal
        if service.login is None or service.control is None:
            return JSONResponse(status_code=403, content={
                "message": "/control is off: it restarts or stops the server, so it works "
                           "only when the server was started with a login (--auth "
                           "USER:PASSWORD)"})
        if command not in CONTROL_COMMANDS:
            message = ("command is required" if not command
                       else f"command: {command} is not supported")
            return JSONResponse(status_code=400, content={
                "message": f"{message}; use restart or exit"})
        # after the answer is sent: restart and exit end this server
        return JSONResponse({"message": f"{command} requested"},
                            background=BackgroundTask(service.control, command))

    @router.get("/control")
    async def control_get(request: Request, command: str | None = None) -> JSONResponse:
        return await control(request, command)

    @router.post("/control")
    async def control_post(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = {}
        command = body.get("command") if isinstance(body, dict) else None
        return await control(request, command if isinstance(command, str) else None)

    return router


async def _first_chunk(request: Request, stream: ChunkStream) -> bytes | None:
    """The first body, or None when the client disconnects before it is ready (the work then
    stops)."""
    task = asyncio.ensure_future(stream.next())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
            if await request.is_disconnected():
                stream.stop()
                task.cancel()
                return None
    except BaseException:
        stream.stop()
        task.cancel()
        raise


async def _drain(stream: ChunkStream) -> None:
    """Wait for a one-body request's end marker so its worker has released the GPU."""
    while await stream.next() is not None:
        pass


async def _run_setter(setter: Any, value: str | None, what: str) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    try:
        await run_in_threadpool(setter, value)
    except Exception as exc:
        if isinstance(exc, GsvError):
            body = _explained(exc, Exception=exc.message)
            body["message"] = f"{what} failed: {exc.message}"
            return JSONResponse(status_code=400, content=body)
        return _failure(what, exc)
    return JSONResponse(status_code=200, content={"message": "success"})


def add_api_routes(app: FastAPI, service: TtsService) -> None:
    """Put the API's routes on ``app`` (a standalone app, or the UI's Gradio server)."""
    app.include_router(api_router(service))
