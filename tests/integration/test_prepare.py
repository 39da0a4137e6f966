"""Formatting (gsv_core.prepare) end to end on tiny real models in the upstream on-disk formats.

The BERT and HuBERT folders are random transformers models saved by transformers
(tests/infer_fixtures.py); the SoVITS file is the tiny upstream-format fixture.

The three-clip dataset with the default request is formatted once per module
(``formatted_once``): tests that only read its files share it; a test that changes the
dataset or runs again gets its own copy (``formatted``), so outputs and manifests never leak
between tests. Every other test formats a temporary workspace of its own.
"""

from __future__ import annotations

import ast
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gsv_core.audio import SAMPLE_RATE
from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.errors import DatasetError
from gsv_core.features import HubertFeatures
from gsv_core.models.checkpoint import load_sovits
from gsv_core.prepare import ExperimentFiles, PrepareRequest, PrepareResult, prepare_dataset
from gsv_core.prepare.audio_step import prepare_audio
from gsv_core.prepare.layout import SEMANTIC_HEADER
from gsv_core.workspace import Workspace
from tests import infer_fixtures
from tests.infer_fixtures import write_voiced_wav

infer_setup = infer_fixtures.infer_setup

LABELS = [("a.wav", "ZH", "你好，今天天气很不错。", 2.3),
          ("b.wav", "EN", "Hello there, this is a test.", 1.7),
          ("c.wav", "JA", "こんにちは。", 1.2)]


def _clip(audio_dir: Path, wav: str, lang: str, text: str) -> Clip:
    return Clip(wav=str(audio_dir / wav), speaker="spk", language=lang.lower(), text=text,
                audio_path=audio_dir / wav)


def make_dataset(root: Path, labels=LABELS) -> tuple[Path, Path]:
    audio_dir = root / "clips"
    for seed, (wav, _, _, seconds) in enumerate(labels):
        write_voiced_wav(audio_dir / wav, seconds, SAMPLE_RATE, seed=seed)
    list_path = root / "voice.list"
    write_list(list_path, [_clip(audio_dir, w, lang, text) for w, lang, text, _ in labels])
    return list_path, audio_dir


def request_for(setup, root: Path, list_path: Path, **changes) -> PrepareRequest:
    workspace = Workspace(root)
    fields = dict(list_path=list_path, experiment="my voice", workspace=workspace,
                  bert_dir=setup.bert_dir, hubert_dir=setup.hubert_dir,
                  sovits_path=setup.sovits_path, devices=("cpu",), batch_seconds=4.0)
    fields.update(changes)
    return PrepareRequest(**fields)


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*") if p.is_file() and p.name != "gsv-prepare.json"}


@dataclass(frozen=True)
class Formatted:
    """A formatted dataset: the request, its result, its files, where its clips are, and
    the (done, total) progress the run reported."""

    request: PrepareRequest
    result: PrepareResult
    files: ExperimentFiles
    audio_dir: Path
    progress: list[tuple[float, float]] = field(default_factory=list)


def format_dataset(setup, root: Path) -> Formatted:
    list_path, audio_dir = make_dataset(root)
    request = request_for(setup, root, list_path)
    seen: list[tuple[float, float]] = []
    result = prepare_dataset(request,
                             progress=lambda done, total, message: seen.append((done, total)))
    return Formatted(request, result, ExperimentFiles.of(request.workspace, "my voice"),
                     audio_dir, seen)


@pytest.fixture(scope="module")
def formatted_once(infer_setup, tmp_path_factory) -> Formatted:
    """The default dataset formatted once for the module; tests must only read it (a
    formatting loads BERT, HuBERT and SoVITS: seconds each time on a loaded CPU)."""
    return format_dataset(infer_setup, tmp_path_factory.mktemp("formatted"))


@pytest.fixture
def formatted(infer_setup, formatted_once, tmp_path) -> Formatted:
    """A copy of ``formatted_once`` in ``tmp_path``, for a test that changes it.

    The list is written again with the copied clips' paths, and the copy is formatted once
    more before the test: outputs are keyed by content, so that run only records the new
    paths' file hashes (as a second run in place would), and the test starts from a
    formatted folder that has been run where it lies."""
    source = formatted_once.request.workspace.root
    shutil.copytree(source, tmp_path, dirs_exist_ok=True)  # copy2: mtimes are kept
    audio_dir = tmp_path / formatted_once.audio_dir.relative_to(source)
    list_path = tmp_path / formatted_once.request.list_path.relative_to(source)
    write_list(list_path, [_clip(audio_dir, w, lang, text) for w, lang, text, _ in LABELS])
    request = request_for(infer_setup, tmp_path, list_path)
    result = prepare_dataset(request)
    return Formatted(request, result, ExperimentFiles.of(request.workspace, "my voice"),
                     audio_dir)


def test_writes_upstreams_files_with_its_names_columns_and_shapes(formatted_once):
    result, files, audio_dir = formatted_once.result, formatted_once.files, formatted_once.audio_dir
    assert result.exit_code == 0 and not result.failures
    assert result.computed == {"text": 3, "audio": 3, "semantic": 3}
    rows = files.name2text.read_text(encoding="utf-8").split("\n")
    assert rows[-1] == "" and len(rows) == 4       # one row per clip, a final newline
    name, phones, word2ph, norm_text = rows[0].split("\t")
    assert name == "a.wav" and norm_text == "你好,今天天气很不错."
    counts = ast.literal_eval(word2ph)  # a Python list repr, as upstream writes it
    assert isinstance(counts, list) and sum(counts) == len(phones.split(" "))
    assert rows[1].split("\t")[2] == "None" and rows[1].startswith("b.wav\t")
    # BERT for the Mandarin clip only: [1024, n_phones]
    assert sorted(p.name for p in files.bert_dir.iterdir()) == ["a.wav.pt"]
    bert = torch.load(files.bert_file("a.wav"), weights_only=True)
    assert bert.shape == (1024, len(phones.split(" "))) and bert.dtype == torch.float32
    semantic = files.name2semantic.read_text(encoding="utf-8").split("\n")
    assert semantic[0] == SEMANTIC_HEADER and semantic[-1] == "" and len(semantic) == 5
    for wav, *_ in LABELS:
        samples, rate = soundfile.read(files.wav32k_file(wav), dtype="int16")
        assert rate == SAMPLE_RATE and samples.ndim == 1
        assert np.array_equal(samples, prepare_audio(audio_dir / wav).wav32k)
        hubert = torch.load(files.hubert_file(wav), weights_only=True)
        samples16 = math.ceil(len(samples) / 2)
        assert hubert.shape[:2] == (1, 768) and not torch.isnan(hubert).any()
        assert abs(hubert.shape[2] - samples16 / 320) <= 1
        codes = next(r for r in semantic if r.startswith(wav + "\t")).split("\t")[1].split()
        assert len(codes) == hubert.shape[2] // 2
        assert all(0 <= int(c) < 1024 for c in codes)


def test_features_equal_upstreams_one_clip_computation(infer_setup, formatted_once):
    """HuBERT fed raw (no feature-extractor normalisation) with the 1145.14 mix; the codes
    are the SoVITS quantiser's for that clip alone."""
    files, audio_dir = formatted_once.files, formatted_once.audio_dir
    model = HubertFeatures.load(infer_setup.hubert_dir).model
    sovits = load_sovits(infer_setup.sovits_path)
    for wav, *_ in LABELS:
        audio = prepare_audio(audio_dir / wav)
        expected = model(torch.from_numpy(audio.hubert_16k)[None]).last_hidden_state
        saved = torch.load(files.hubert_file(wav), weights_only=True)
        torch.testing.assert_close(saved, expected.transpose(1, 2), rtol=1e-4, atol=1e-4)
        codes = sovits.extract_latent(saved)[0, 0].tolist()
        row = files.name2semantic.read_text(encoding="utf-8").split("\n")
        line = next(r for r in row if r.startswith(wav + "\t"))
        assert line == f"{wav}\t{' '.join(map(str, codes))}"


def test_second_run_reuses_everything(formatted):
    request, files = formatted.request, formatted.files
    before = mtimes(files.folder)
    again = prepare_dataset(request)
    assert again.computed == {"text": 0, "audio": 0, "semantic": 0}
    assert again.reused == {"text": 3, "audio": 3, "semantic": 3}
    assert mtimes(files.folder) == before


def test_changing_one_label_recomputes_only_its_text(formatted):
    request, files, audio_dir = formatted.request, formatted.files, formatted.audio_dir
    hubert_before = mtimes(files.hubert_dir)
    labels = [("a.wav", "ZH", "我们一起去公园吧。", 2.3), *LABELS[1:]]
    write_list(request.list_path,
               [_clip(audio_dir, w, lang, text) for w, lang, text, _ in labels])
    result = prepare_dataset(request)
    assert result.computed == {"text": 1, "audio": 0, "semantic": 0}
    assert mtimes(files.hubert_dir) == hubert_before
    assert "我们一起去公园吧." in files.name2text.read_text(encoding="utf-8")


def test_replaced_audio_recomputes_its_features_and_codes(formatted):
    request, files, audio_dir = formatted.request, formatted.files, formatted.audio_dir
    write_voiced_wav(audio_dir / "b.wav", 2.9, SAMPLE_RATE, seed=9)
    result = prepare_dataset(request)
    assert result.computed == {"text": 0, "audio": 1, "semantic": 1}
    samples, _ = soundfile.read(files.wav32k_file("b.wav"), dtype="int16")
    assert len(samples) == int(2.9 * SAMPLE_RATE)


def test_clips_removed_from_the_list_lose_their_files(formatted):
    request, files, audio_dir = formatted.request, formatted.files, formatted.audio_dir
    write_list(request.list_path, [_clip(audio_dir, w, lang, text)
                                   for w, lang, text, _ in LABELS if w != "a.wav"])
    result = prepare_dataset(request)
    assert result.removed == 1
    assert not files.bert_file("a.wav").exists() and not files.hubert_file("a.wav").exists()
    assert not files.wav32k_file("a.wav").exists()
    assert "a.wav" not in files.name2text.read_text(encoding="utf-8")
    assert "a.wav" not in files.name2semantic.read_text(encoding="utf-8")


def test_a_clip_switched_from_chinese_loses_its_bert_file(formatted):
    """GPT training loads 3-bert/<name>.pt whenever it exists: a stale one must go."""
    request, files, audio_dir = formatted.request, formatted.files, formatted.audio_dir
    assert files.bert_file("a.wav").exists()
    labels = [("a.wav", "EN", "Now it is English.", 2.3), *LABELS[1:]]
    write_list(request.list_path,
               [_clip(audio_dir, w, lang, text) for w, lang, text, _ in labels])
    prepare_dataset(request)
    assert not files.bert_file("a.wav").exists()


def test_unsupported_language_and_overlong_clips_are_refused_with_their_lines(
        infer_setup, tmp_path):
    list_path, _ = make_dataset(tmp_path)
    list_path.write_text(list_path.read_text(encoding="utf-8").replace("|JA|", "|DE|"),
                         encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        prepare_dataset(request_for(infer_setup, tmp_path, list_path))
    assert "line 3" in caught.value.message and "DE" in caught.value.details
    assert not (tmp_path / "logs").exists()     # nothing was written
    long_root = tmp_path / "long"
    list_path, _ = make_dataset(long_root, [*LABELS[:2], ("long.wav", "EN", "Long one.", 40.0)])
    with pytest.raises(DatasetError) as caught:
        prepare_dataset(request_for(infer_setup, long_root, list_path))
    assert caught.value.rule == "Q-4" and "line 3" in caught.value.details


def test_a_corrupt_clip_fails_alone_with_its_line(infer_setup, tmp_path):
    list_path, audio_dir = make_dataset(tmp_path)
    (audio_dir / "b.wav").write_bytes(b"RIFF not really a wav file")
    result = prepare_dataset(request_for(infer_setup, tmp_path, list_path))
    assert result.exit_code == 1
    assert [(f.line_number, f.name, f.stage) for f in result.failures] == [(2, "b.wav", "audio")]
    files = ExperimentFiles.of(Workspace(tmp_path), "my voice")
    assert files.hubert_file("a.wav").exists() and files.hubert_file("c.wav").exists()
    assert "b.wav" not in files.name2semantic.read_text(encoding="utf-8")


def test_silent_and_too_loud_clips_are_failures_not_nan_features(infer_setup, tmp_path):
    list_path, audio_dir = make_dataset(tmp_path)
    soundfile.write(audio_dir / "a.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    soundfile.write(audio_dir / "c.wav", np.full(SAMPLE_RATE, 2.5, np.float32), SAMPLE_RATE,
                    subtype="FLOAT")
    result = prepare_dataset(request_for(infer_setup, tmp_path, list_path))
    messages = {f.name: f.message for f in result.failures}
    assert set(messages) == {"a.wav", "c.wav"}
    assert "silent" in messages["a.wav"] and "2.50" in messages["c.wav"]


def test_upstream_readings_keep_upstreams_percent_replacement(infer_setup, tmp_path):
    labels = [("a.wav", "EN", "It went up 50% today.", 2.0)]
    list_path, _ = make_dataset(tmp_path, labels)
    rows = {}
    for readings in ("upstream", "improved"):
        request = request_for(infer_setup, tmp_path, list_path, readings=readings,
                              experiment=readings)
        prepare_dataset(request)
        rows[readings] = ExperimentFiles.of(request.workspace, readings).name2text.read_text(
            encoding="utf-8").split("\t")[3]
    assert "percent" not in rows["upstream"].lower()
    assert "percent" in rows["improved"].lower()


def test_a_stop_keeps_the_finished_part_and_the_next_run_continues(infer_setup, tmp_path):
    list_path, _ = make_dataset(tmp_path)
    request = request_for(infer_setup, tmp_path, list_path, batch_seconds=1.0)
    asked = []

    def stop_after_first_batch() -> bool:
        asked.append(1)
        return len(asked) > 2      # the text stage asks once, the first HuBERT batch once

    first = prepare_dataset(request, should_stop=stop_after_first_batch)
    assert first.stopped and first.exit_code == 1
    assert 0 < first.computed["audio"] < 3
    second = prepare_dataset(request)
    assert second.ok
    assert second.computed["audio"] == 3 - first.computed["audio"]
    assert second.computed["text"] == 0


def test_progress_reaches_the_total(formatted_once):
    seen = formatted_once.progress   # the default dataset's first formatting, reported
    assert seen and seen[-1][0] == seen[-1][1] == 6     # 3 labels + 3 clips' audio


def test_two_devices_give_the_same_files_as_one(infer_setup, formatted_once, tmp_path):
    list_path, _ = make_dataset(tmp_path)   # the same clips and labels, made again here
    two = request_for(infer_setup, tmp_path, list_path, experiment="two",
                      devices=("cpu", "cpu"))
    result = prepare_dataset(two)
    assert result.ok and result.devices == ("cpu", "cpu")
    assert formatted_once.result.devices == ("cpu",)
    files_one = formatted_once.files
    files_two = ExperimentFiles.of(two.workspace, "two")
    assert files_one.name2semantic.read_text() == files_two.name2semantic.read_text()
    assert files_one.name2text.read_text() == files_two.name2text.read_text()


def test_labels_cleaned_in_worker_processes_give_the_same_files(infer_setup, formatted_once,
                                                                tmp_path):
    list_path, _ = make_dataset(tmp_path)
    request = request_for(infer_setup, tmp_path, list_path, experiment="workers",
                          label_workers=2)
    result = prepare_dataset(request)
    assert result.ok and result.computed["text"] == 3
    files = ExperimentFiles.of(request.workspace, "workers")
    assert files.name2text.read_text() == formatted_once.files.name2text.read_text()
    ours = torch.load(files.bert_file("a.wav"))
    assert torch.equal(ours, torch.load(formatted_once.files.bert_file("a.wav")))


def test_batched_hubert_and_codes_equal_one_clip_at_a_time(infer_setup):
    """Padding must not leak into a clip: GroupNorm statistics, positional conv, attention."""
    from gsv_core.prepare.hubert_batch import (
        hubert_hidden_batch,
        length_batches,
        semantic_codes_batch,
    )

    model = HubertFeatures.load(infer_setup.hubert_dir).model
    assert isinstance(model.feature_extractor.conv_layers[0].layer_norm, torch.nn.GroupNorm)
    sovits = load_sovits(infer_setup.sovits_path)
    generator = torch.Generator().manual_seed(3)
    waves = [0.3 * torch.randn(n, generator=generator) for n in (16000, 9000, 23456, 4000)]
    batched = hubert_hidden_batch(model, waves)
    singles = [hubert_hidden_batch(model, [w])[0] for w in waves]
    for got, want in zip(batched, singles, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    codes = semantic_codes_batch(sovits, singles)
    for code, feature in zip(codes, singles, strict=True):
        assert torch.equal(code, sovits.extract_latent(feature)[0, 0])
    # a naive padded batch differs (what the masking is for)
    padded = torch.nn.utils.rnn.pad_sequence(waves, batch_first=True)
    naive = model(padded).last_hidden_state[1, :singles[1].shape[-1]].T
    assert not torch.allclose(naive, singles[1][0], atol=1e-3)
    assert length_batches([5, 9, 1, 9], 18) == [[1, 3], [0, 2]]


def test_a_batch_of_clips_gives_the_files_of_one_at_a_time(infer_setup, tmp_path):
    list_path, _ = make_dataset(tmp_path)
    single = request_for(infer_setup, tmp_path, list_path, experiment="single",
                         batch_seconds=0.5)
    batched = request_for(infer_setup, tmp_path, list_path, experiment="batched",
                          batch_seconds=60.0)
    prepare_dataset(single)
    prepare_dataset(batched)
    one = ExperimentFiles.of(single.workspace, "single")
    many = ExperimentFiles.of(batched.workspace, "batched")
    assert one.name2semantic.read_text() == many.name2semantic.read_text()
    for wav, *_ in LABELS:
        torch.testing.assert_close(torch.load(one.hubert_file(wav), weights_only=True),
                                   torch.load(many.hubert_file(wav), weights_only=True),
                                   rtol=1e-4, atol=1e-4)


def test_command_line_exit_codes(infer_setup, tmp_path, capsys):
    from gsv_core.prepare.cli import main

    list_path, audio_dir = make_dataset(tmp_path)
    common = ["--list", str(list_path), "--exp", "cli", "--workspace", str(tmp_path), "--cpu",
              "--sovits", str(infer_setup.sovits_path)]
    # the tiny BERT/HuBERT folders stand in for the workspace's pretrained ones
    workspace = Workspace(tmp_path)
    for source, target in ((infer_setup.bert_dir, workspace.bert_dir),
                           (infer_setup.hubert_dir, workspace.hubert_dir)):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source, target_is_directory=True)
    assert main([*common, "--json"]) == 0
    assert '"text": 3' in capsys.readouterr().out
    (audio_dir / "c.wav").write_bytes(b"broken")
    assert main(common) == 1
    assert "line 3 (c.wav), audio" in capsys.readouterr().err
    list_path.write_text("nonsense line\n", encoding="utf-8")
    assert main(common) == 2
    assert "line 1" in capsys.readouterr().err
