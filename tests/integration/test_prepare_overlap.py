"""Formatting's speed-ups keep its outputs: the text stage beside the audio stage, writer
threads, and the workspace's cache of file hashes.

On a GPU the text stage runs on a thread beside the audio stage (``run.stages_overlap``);
here, without a GPU, the tests force that path on the CPU so its threading is exercised.
A failing write is injected by replacing ``save_tensor`` for one clip (a full disk cannot be
made here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import gsv_core.prepare.audio_stage as audio_stage
import gsv_core.prepare.manifest as manifest_module
import gsv_core.prepare.run as prepare_run
from gsv_core.audio import SAMPLE_RATE
from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.prepare import ExperimentFiles, PrepareRequest, prepare_dataset
from gsv_core.prepare.layout import hash_cache_file
from gsv_core.workspace import Workspace
from tests import infer_fixtures
from tests.infer_fixtures import write_voiced_wav

infer_setup = infer_fixtures.infer_setup

LABELS = [("a.wav", "zh", "你好，今天天气很不错。", 1.6),
          ("b.wav", "en", "Hello there, this is a test.", 1.3),
          ("c.wav", "zh", "我们明天见。", 1.1),
          ("d.wav", "en", "See you tomorrow.", 0.9)]


def dataset(root: Path) -> Path:
    clips = []
    for seed, (wav, lang, text, seconds) in enumerate(LABELS):
        write_voiced_wav(root / "clips" / wav, seconds, SAMPLE_RATE, seed=seed)
        clips.append(Clip(wav=str(root / "clips" / wav), speaker="spk", language=lang,
                          text=text, audio_path=root / "clips" / wav))
    write_list(root / "voice.list", clips)
    return root / "voice.list"


def request(setup, root: Path, list_path: Path, experiment: str = "voice") -> PrepareRequest:
    return PrepareRequest(list_path, experiment, Workspace(root), bert_dir=setup.bert_dir,
                          hubert_dir=setup.hubert_dir, sovits_path=setup.sovits_path,
                          devices=("cpu",), batch_seconds=2.0, bert_batch=1)


def outputs(files: ExperimentFiles) -> dict[str, object]:
    found: dict[str, object] = {"text": files.name2text.read_text(encoding="utf-8"),
                                "codes": files.name2semantic.read_text(encoding="utf-8")}
    for folder in (files.bert_dir, files.hubert_dir):
        for path in sorted(folder.iterdir()):
            found[f"{folder.name}/{path.name}"] = torch.load(path, weights_only=True)
    for path in sorted(files.wav32k_dir.iterdir()):
        found[f"5-wav32k/{path.name}"] = path.read_bytes()
    return found


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, b[key]), key
        else:
            assert value == b[key], key


def test_overlapped_stages_write_what_one_after_the_other_writes(infer_setup, tmp_path,
                                                                  monkeypatch) -> None:
    list_path = dataset(tmp_path)
    apart = prepare_dataset(request(infer_setup, tmp_path, list_path, "apart"))
    monkeypatch.setattr(prepare_run, "stages_overlap", lambda device: True)
    seen: list[float] = []
    together = prepare_dataset(request(infer_setup, tmp_path, list_path, "together"),
                               progress=lambda done, total, message: seen.append(done))
    assert apart.ok and together.ok
    assert together.computed == apart.computed == {"text": 4, "audio": 4, "semantic": 4}
    assert seen == sorted(seen) and seen[-1] == 8   # one count for both threads
    assert {"labels cleaned", "BERT", "HuBERT", "semantic codes"} <= together.seconds.keys()
    ws = Workspace(tmp_path)
    assert_same(outputs(ExperimentFiles.of(ws, "apart")),
                outputs(ExperimentFiles.of(ws, "together")))


def test_a_stop_while_both_stages_run_keeps_a_consistent_folder(infer_setup, tmp_path,
                                                                 monkeypatch) -> None:
    list_path = dataset(tmp_path)
    monkeypatch.setattr(prepare_run, "stages_overlap", lambda device: True)
    reports: list[float] = []
    stopped = prepare_dataset(request(infer_setup, tmp_path, list_path),
                              progress=lambda done, total, message: reports.append(done),
                              should_stop=lambda: len(reports) >= 1)
    assert stopped.stopped and stopped.exit_code == 1
    assert stopped.computed["text"] < 4 or stopped.computed["semantic"] < 4
    again = prepare_dataset(request(infer_setup, tmp_path, list_path))
    assert again.ok
    assert again.computed["text"] == 4 - stopped.computed["text"]
    assert again.computed["semantic"] == 4 - stopped.computed["semantic"]
    reference = prepare_dataset(request(infer_setup, tmp_path, list_path, "reference"))
    ws = Workspace(tmp_path)
    assert reference.ok
    assert_same(outputs(ExperimentFiles.of(ws, "voice")),
                outputs(ExperimentFiles.of(ws, "reference")))


def test_an_error_in_the_text_stage_stops_the_audio_stage_and_is_raised(
        infer_setup, tmp_path, monkeypatch) -> None:
    list_path = dataset(tmp_path)
    monkeypatch.setattr(prepare_run, "stages_overlap", lambda device: True)

    def broken_bert(*args, **kwargs):
        raise RuntimeError("BERT blew up")

    monkeypatch.setattr(prepare_run, "bert_features", broken_bert)
    with pytest.raises(RuntimeError, match="BERT blew up"):
        prepare_dataset(request(infer_setup, tmp_path, list_path))
    files = ExperimentFiles.of(Workspace(tmp_path), "voice")
    assert not files.manifest.exists()   # nothing recorded as done


def test_a_failed_feature_write_fails_that_clip_only_and_a_rerun_mends_it(
        infer_setup, tmp_path, monkeypatch) -> None:
    list_path = dataset(tmp_path)
    real_save = audio_stage.save_tensor

    def save(tensor, path: Path) -> None:
        if path.name == "c.wav.pt":
            raise OSError(28, "No space left on device")
        real_save(tensor, path)

    monkeypatch.setattr(audio_stage, "save_tensor", save)
    result = prepare_dataset(request(infer_setup, tmp_path, list_path))
    assert [(f.name, f.stage) for f in result.failures] == [("c.wav", "audio")]
    assert "No space left" in result.failures[0].message and result.exit_code == 1
    files = ExperimentFiles.of(Workspace(tmp_path), "voice")
    assert "c.wav" not in files.name2semantic.read_text(encoding="utf-8")
    assert not files.hubert_file("c.wav").exists()
    monkeypatch.setattr(audio_stage, "save_tensor", real_save)
    again = prepare_dataset(request(infer_setup, tmp_path, list_path))
    assert again.ok and again.computed["audio"] == 1 and again.computed["semantic"] == 1


def test_a_second_experiment_does_not_hash_the_models_again(infer_setup, tmp_path,
                                                            monkeypatch) -> None:
    list_path = dataset(tmp_path)
    assert prepare_dataset(request(infer_setup, tmp_path, list_path, "first")).ok
    assert hash_cache_file(Workspace(tmp_path)).is_file()
    hashed: list[Path] = []
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file",
                        lambda path: hashed.append(Path(path)) or real(path))
    assert prepare_dataset(request(infer_setup, tmp_path, list_path, "second")).ok
    assert hashed == []     # models and clips alike: unchanged size and mtime
    second = ExperimentFiles.of(Workspace(tmp_path), "second")
    recorded = manifest_module.Manifest.load(second.manifest).file_hashes
    assert {Path(key).name for key in recorded} >= {w for w, *_ in LABELS}
    assert infer_setup.sovits_path.name in {Path(key).name for key in recorded}


def test_a_changed_clip_is_hashed_again_despite_the_cache(infer_setup, tmp_path,
                                                          monkeypatch) -> None:
    list_path = dataset(tmp_path)
    assert prepare_dataset(request(infer_setup, tmp_path, list_path, "first")).ok
    write_voiced_wav(tmp_path / "clips" / "b.wav", 1.4, SAMPLE_RATE, seed=9)
    result = prepare_dataset(request(infer_setup, tmp_path, list_path, "first"))
    assert result.ok and result.computed["audio"] == 1 and result.computed["text"] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on the device)")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_formatting_on_a_gpu_matches_the_cpu(infer_setup, tmp_path, precision) -> None:
    """The real overlapped path (both stages at once on the GPU) against the CPU run."""
    list_path = dataset(tmp_path)
    cpu = prepare_dataset(request(infer_setup, tmp_path, list_path, "cpu"))
    gpu_request = PrepareRequest(list_path, "gpu", Workspace(tmp_path),
                                 bert_dir=infer_setup.bert_dir, hubert_dir=infer_setup.hubert_dir,
                                 sovits_path=infer_setup.sovits_path, devices=("cuda",),
                                 precision=precision, batch_seconds=2.0, bert_batch=1)
    assert prepare_run.stages_overlap("cuda:0")
    gpu = prepare_dataset(gpu_request)
    assert cpu.ok and gpu.ok and gpu.devices == ("cuda:0",)
    ws = Workspace(tmp_path)
    a, b = outputs(ExperimentFiles.of(ws, "cpu")), outputs(ExperimentFiles.of(ws, "gpu"))
    assert a.keys() == b.keys() and a["text"] == b["text"]
    tolerance = 1e-3 if precision == "fp32" else 5e-2
    for key, value in a.items():
        if isinstance(value, torch.Tensor):
            assert (value.float() - b[key].float()).abs().max() < tolerance, key
        elif key.startswith("5-wav32k"):
            assert value == b[key], key
    codes_a = [row.split("\t")[1].split() for row in a["codes"].split("\n")[1:] if row]
    codes_b = [row.split("\t")[1].split() for row in b["codes"].split("\n")[1:] if row]
    same = sum(x == y for ra, rb in zip(codes_a, codes_b, strict=True)
               for x, y in zip(ra, rb, strict=True))
    assert same / sum(len(r) for r in codes_a) > 0.9
