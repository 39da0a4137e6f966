"""The api_v2-compatible HTTP API over loopback, with the tiny models (issue 8 item 4).

A real uvicorn server runs in a thread on a free port; requests go through httpx. The engine is
the real one on CPU with the tiny fixture models and tiny BERT/HuBERT (tests/infer_fixtures.py).
"""

from __future__ import annotations

import io
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
import uvicorn

from gsv_core.api import ServerLifecycle, create_app, make_service
from gsv_core.infer import InferenceEngine
from tests.infer_fixtures import REFERENCE_TEXT, InferSetup, infer_setup, make_engine

__all__ = ["infer_setup"]  # the fixture, imported for pytest

pytestmark = pytest.mark.slow

REF = "ref/voice_4s.wav"  # relative to the workspace, as upstream clients send paths
TEXT = "今天天气很不错。我们一起去公园吧。这是测试中文句子。"
STARTUP_WAIT_S = 60.0
# upstream api_v2's docstring example request, with our reference clip and text
DOCSTRING_POST = {
    "text": TEXT, "text_lang": "zh", "ref_audio_path": REF, "aux_ref_audio_paths": [],
    "prompt_text": REFERENCE_TEXT, "prompt_lang": "zh", "top_k": 15, "top_p": 1,
    "temperature": 1, "text_split_method": "cut5", "batch_size": 1, "batch_threshold": 0.75,
    "split_bucket": True, "speed_factor": 1.0, "fragment_interval": 0.3, "seed": -1,
    "parallel_infer": True, "repetition_penalty": 1.35, "sample_steps": 32,
    "super_sampling": False, "streaming_mode": False, "overlap_length": 2,
    "min_chunk_length": 16,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_api(setup: InferSetup, engine: InferenceEngine, *,
                login: tuple[str, str] | None = None,
                lifecycle: ServerLifecycle | None = None) -> Iterator[tuple[str, threading.Thread]]:
    service = make_service(engine, setup.workspace, login=login,
                           model_folders=[setup.gpt_path.parent], lifecycle=lifecycle)
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1",
                                           port=_free_port(), log_level="warning"))
    if lifecycle is not None:
        lifecycle.stop = lambda: setattr(server, "should_exit", True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_WAIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", thread
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def engine(infer_setup: InferSetup) -> InferenceEngine:
    return make_engine(infer_setup)


@pytest.fixture(scope="module")
def api(infer_setup: InferSetup, engine: InferenceEngine) -> Iterator[httpx.Client]:
    with running_api(infer_setup, engine) as (url, _), \
            httpx.Client(base_url=url, timeout=300) as client:
        yield client


def _decode_wav(body: bytes) -> np.ndarray:
    info = sf.info(io.BytesIO(body))
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        "WAV", "PCM_16", 32000, 1)
    audio, _ = sf.read(io.BytesIO(body), dtype="float32")
    assert len(audio) > 0 and np.isfinite(audio).all()
    return audio


def _ogg_streams(body: bytes) -> list[bytes]:
    """Split chained Ogg files at their beginning-of-stream pages."""
    starts = [i for i in range(len(body) - 5)
              if body[i:i + 4] == b"OggS" and body[i + 5] & 0x02]
    return [body[a:b] for a, b in zip(starts, [*starts[1:], len(body)], strict=True)]


def test_get_in_the_shape_of_upstreams_docstring_streams_a_wav(api: httpx.Client) -> None:
    query = {"text": TEXT, "text_lang": "zh", "ref_audio_path": REF, "prompt_lang": "zh",
             "prompt_text": REFERENCE_TEXT, "text_split_method": "cut5", "batch_size": "1",
             "media_type": "wav", "streaming_mode": "true"}
    with api.stream("GET", "/tts", params=query) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        body = response.read()
    header = body[:44]
    assert header[:4] == b"RIFF" and struct.unpack("<I", header[4:8])[0] == 36
    assert header[36:40] == b"data" and struct.unpack("<I", header[40:44])[0] == 0
    assert len(body) > 44 and (len(body) - 44) % 2 == 0
    pcm = np.frombuffer(body[44:], dtype="<i2")
    assert np.abs(pcm).max() > 0


def test_post_with_upstreams_docstring_body_returns_a_16_bit_wav(api: httpx.Client) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, "seed": 7})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    _decode_wav(response.content)


def test_post_without_media_type_and_with_extra_fields_is_a_wav(api: httpx.Client) -> None:
    body = {k: v for k, v in DOCSTRING_POST.items() if k != "media_type"}
    response = api.post("/tts", json={**body, "seed": 3, "top_p": 1.5, "return_fragment": True,
                                      "a_field_from_a_newer_client": 1})
    assert response.status_code == 200, response.text
    _decode_wav(response.content)


def test_same_seed_same_audio_over_http(api: httpx.Client) -> None:
    first = api.post("/tts", json={**DOCSTRING_POST, "seed": 11}).content
    again = api.post("/tts", json={**DOCSTRING_POST, "seed": 11}).content
    assert first == again


def test_prompt_free_auto_languages_and_raw(api: httpx.Client) -> None:
    response = api.get("/tts", params={"text": "你好。Hello there.", "text_lang": "auto",
                                       "ref_audio_path": REF, "prompt_lang": "auto",
                                       "prompt_text": "", "media_type": "raw", "seed": "5"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/raw"
    assert response.content[:4] != b"RIFF" and len(response.content) % 2 == 0
    assert np.abs(np.frombuffer(response.content, dtype="<i2")).max() > 0


def test_streamed_ogg_sends_each_segment_as_a_whole_ogg_file(api: httpx.Client) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, "media_type": "ogg",
                                      "streaming_mode": 1, "seed": 1})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/ogg"
    streams = _ogg_streams(response.content)
    assert len(streams) >= 2  # one per segment
    for stream in streams:
        audio, rate = sf.read(io.BytesIO(stream), dtype="float32")
        assert rate == 32000 and len(audio) > 0


@pytest.mark.parametrize("mode", [2, 3])
def test_chunked_streaming_modes(api: httpx.Client, mode: int) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, "streaming_mode": mode, "seed": 2,
                                      "media_type": "raw"})
    assert response.status_code == 200, response.text
    assert response.headers.get("transfer-encoding") == "chunked"
    assert len(response.content) > 0 and len(response.content) % 2 == 0


@pytest.mark.parametrize(("changes", "expected"), [
    ({"top_k": -1}, "top_k"),
    ({"text_lang": "xx"}, "text_lang: xx is not supported"),
    ({"ref_audio_path": "../../outside.wav"}, "outside the workspace"),
    ({"ref_audio_path": "/etc/hosts"}, "outside the workspace"),
    ({"aux_ref_audio_paths": ["/etc/hosts"]}, "aux_ref_audio_paths"),
    ({"ref_audio_path": "ref/none.wav"}, "is not a file"),
    ({"streaming_mode": 9}, "streaming_mode"),
    ({"media_type": "flac"}, "media_type"),
    ({"speed_factor": "fast"}, "speed_factor"),
])
def test_bad_parameters_are_400_with_a_message(api: httpx.Client, changes: dict,
                                               expected: str) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, **changes})
    assert response.status_code == 400
    assert expected in response.json()["message"]


def test_readings_reach_the_engine_and_default_to_improved(api: httpx.Client) -> None:
    request = {**DOCSTRING_POST, "text": "电池5000mAh。", "seed": 11}
    default = _decode_wav(api.post("/tts", json=request).content)  # as upstream clients send
    improved = _decode_wav(api.post("/tts", json={**request, "readings": "improved"}).content)
    upstream = _decode_wav(api.post("/tts", json={**request, "readings": "upstream"}).content)
    assert np.array_equal(default, improved)
    assert default.shape != upstream.shape or not np.array_equal(default, upstream)
    query = {k: v for k, v in request.items() if not isinstance(v, list)}
    by_get = api.get("/tts", params={**query, "readings": "upstream"})
    assert np.array_equal(_decode_wav(by_get.content), upstream)


@pytest.mark.parametrize("readings", ["fancy", 7])
def test_bad_readings_are_400_naming_the_field(api: httpx.Client, readings: object) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, "readings": readings})
    assert response.status_code == 400
    assert response.json()["message"].startswith("readings")


@pytest.mark.parametrize("streaming_mode", [False, True, 2])
def test_text_with_nothing_readable_is_400_naming_the_line(api: httpx.Client,
                                                           streaming_mode: object) -> None:
    response = api.post("/tts", json={**DOCSTRING_POST, "text": "😀🎉\n！！！",
                                      "streaming_mode": streaming_mode})
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("Nothing in the text can be read aloud: line 1")
    assert "line 2" in body["message"] and body["advice"]


def test_get_without_text_lang_is_400_not_500(api: httpx.Client) -> None:
    response = api.get("/tts", params={"text": TEXT, "ref_audio_path": REF, "prompt_lang": "zh"})
    assert response.status_code == 400
    assert response.json()["message"] == "text_lang is required"  # upstream's words
    assert "zh" in response.json()["advice"]


def test_a_body_that_is_not_json_is_400(api: httpx.Client) -> None:
    response = api.post("/tts", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "JSON" in response.json()["message"]


def test_aac_without_ffmpeg_is_400_naming_it(api: httpx.Client,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # the server runs in this process
    response = api.post("/tts", json={**DOCSTRING_POST, "media_type": "aac"})
    assert response.status_code == 400 and "ffmpeg" in response.json()["message"]


def test_reference_errors_from_the_engine_are_400(api: httpx.Client, infer_setup) -> None:
    short = infer_setup.workspace.root / "ref" / "short.wav"
    sf.write(short, np.zeros(16000, np.float32), 16000)  # 1 s: outside 3-10 s
    response = api.post("/tts", json={**DOCSTRING_POST, "ref_audio_path": "ref/short.wav"})
    assert response.status_code == 400
    assert "short.wav" in response.json()["message"]


def test_switching_weights_and_the_default_reference(api: httpx.Client,
                                                     infer_setup: InferSetup) -> None:
    for route in ("/set_gpt_weights", "/set_sovits_weights"):
        path = infer_setup.gpt_path if "gpt" in route else infer_setup.sovits_path
        ok = api.get(route, params={"weights_path": str(path)})
        assert (ok.status_code, ok.json()) == (200, {"message": "success"})
        assert api.get(route).status_code == 400
        outside = api.get(route, params={"weights_path": "/etc/hosts"})
        assert outside.status_code == 400 and "outside" in outside.json()["message"]
    assert api.get("/set_refer_audio", params={"refer_audio_path": REF}).json() == {
        "message": "success"}
    body = {k: v for k, v in DOCSTRING_POST.items() if k != "ref_audio_path"}
    response = api.post("/tts", json={**body, "seed": 4})
    assert response.status_code == 200, response.text
    _decode_wav(response.content)


def test_control_is_refused_without_a_login(api: httpx.Client) -> None:
    for response in (api.get("/control", params={"command": "exit"}),
                     api.post("/control", json={"command": "restart"})):
        assert response.status_code == 403 and "login" in response.json()["message"]
    assert api.get("/tts", params={"text": "x"}).status_code == 400  # still serving


def test_openapi_and_index_answer(api: httpx.Client) -> None:
    schema = api.get("/openapi.json")
    assert schema.status_code == 200 and "/tts" in schema.json()["paths"]
    get_parameters = {p["name"] for p in schema.json()["paths"]["/tts"]["get"]["parameters"]}
    assert {"text", "streaming_mode", "min_chunk_length"} <= get_parameters
    assert api.get("/").status_code == 200
    assert api.get("/docs").status_code == 200


def test_concurrent_requests_queue_and_all_succeed(api: httpx.Client) -> None:
    results: list[httpx.Response] = []

    def ask(seed: int) -> None:
        results.append(api.post("/tts", json={**DOCSTRING_POST, "seed": seed}))

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in (21, 22, 23)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200, 200]
    for response in results:
        _decode_wav(response.content)


def test_a_client_leaving_mid_stream_stops_the_work(api: httpx.Client,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    sentences = "今天天气很不错。" * 24
    caplog.set_level(logging.INFO, logger="gsv_core.api.service")
    with api.stream("POST", "/tts", json={**DOCSTRING_POST, "text": sentences,
                                          "streaming_mode": 1, "media_type": "raw"}) as response:
        assert response.status_code == 200
        next(response.iter_raw())  # the first chunk, then hang up
    deadline = time.monotonic() + 120
    while "client disconnected" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.1)
    stopped = [r for r in caplog.records if "client disconnected" in r.getMessage()]
    assert stopped, caplog.text
    made = stopped[-1].args[-1]
    assert made < 24  # not every segment was rendered
    # the GPU lock was released: the next request is served
    assert api.post("/tts", json={**DOCSTRING_POST, "seed": 5}).status_code == 200


def test_with_a_login_every_endpoint_asks_for_it_and_control_works(
        infer_setup: InferSetup, engine: InferenceEngine) -> None:
    lifecycle = ServerLifecycle()
    login = ("gsv", "s3cret:pw")
    with running_api(infer_setup, engine, login=login, lifecycle=lifecycle) as (url, thread):
        refused = httpx.post(f"{url}/tts", json=DOCSTRING_POST, timeout=300)
        assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
        wrong = httpx.get(f"{url}/control", params={"command": "exit"}, auth=("gsv", "no"))
        assert wrong.status_code == 401
        ok = httpx.post(f"{url}/tts", json={**DOCSTRING_POST, "seed": 9}, auth=login,
                        timeout=300)
        assert ok.status_code == 200, ok.text
        _decode_wav(ok.content)
        bogus = httpx.get(f"{url}/control", params={"command": "reboot"}, auth=login)
        assert bogus.status_code == 400 and "restart or exit" in bogus.json()["message"]
        done = httpx.get(f"{url}/control", params={"command": "exit"}, auth=login)
        assert done.status_code == 200
        thread.join(timeout=60)
        assert not thread.is_alive()  # the server stopped
    assert lifecycle.command == "exit"


def test_guessing_the_login_is_rate_limited_and_huge_bodies_are_refused(
        infer_setup: InferSetup, engine: InferenceEngine) -> None:
    from gsv_core.api.limits import LOGIN_ATTEMPTS, MAX_API_BODY_BYTES

    login = ("gsv", "right")
    with running_api(infer_setup, engine, login=login) as (url, _):
        huge = httpx.post(f"{url}/tts", content=b"{" + b" " * MAX_API_BODY_BYTES + b"}",
                          headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and "ref_audio_path" in huge.json()["message"]
        guesses = [httpx.get(f"{url}/control", params={"command": "exit"},
                             auth=("gsv", f"guess{i}")).status_code
                   for i in range(LOGIN_ATTEMPTS)]
        assert guesses == [401] * LOGIN_ATTEMPTS
        blocked = httpx.get(f"{url}/control", params={"command": "restart"}, auth=login)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_relative_paths_start_at_the_workspace_not_the_current_folder(
        api: httpx.Client, infer_setup: InferSetup, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the server's working folder is elsewhere
    response = api.post("/tts", json={**DOCSTRING_POST, "seed": 6})
    assert response.status_code == 200, response.text


def test_get_takes_aux_ref_audio_paths_as_repeated_parameters(api: httpx.Client) -> None:
    query = [("text", TEXT), ("text_lang", "zh"), ("ref_audio_path", REF), ("prompt_lang", "zh"),
             ("prompt_text", REFERENCE_TEXT), ("seed", "8"),
             ("aux_ref_audio_paths", REF), ("aux_ref_audio_paths", REF)]
    response = api.get("/tts", params=query)
    assert response.status_code == 200, response.text
    _decode_wav(response.content)
    outside = api.get("/tts", params=[*query[:-1], ("aux_ref_audio_paths", "/etc/hosts")])
    assert outside.status_code == 400 and "aux_ref_audio_paths" in outside.json()["message"]
