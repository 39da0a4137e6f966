"""ASR on a CUDA GPU: the funasr models (tiny random SenseVoiceSmall and Paraformer, built in
the test as in test_asr_funasr.py) load on the card the machine profile names and give the
transcripts the CPU gives. Skipped without CUDA (run on the device tool).

The profile is simulated (GSV_FAKE_GPU names the card); whether CUDA is usable is asked of
the engine's own runtime, the real one here. The models' front ends get ``dither: 0``: as in
the real SenseVoiceSmall and Paraformer configs, the fixtures leave it at funasr's default of
1.0, which adds random noise of one int16 step to every run's features — nothing on real
speech, but enough to flip a near-tie of a random model between two runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gsv_core.dataset.asr import AsrOptions
from gsv_core.dataset.asr_job import transcribe_folder
from gsv_core.hardware import detect_machine
from gsv_core.workspace import Workspace
from tests import asr_fixtures
from tests.asr_fixtures import clips_folder

tiny_sensevoice = asr_fixtures.tiny_sensevoice
tiny_paraformer = asr_fixtures.tiny_paraformer

pytestmark = pytest.mark.slow


def without_dither(model: Path, copy: Path) -> Path:
    shutil.copytree(model, copy)
    config = yaml.safe_load((copy / "config.yaml").read_text(encoding="utf-8"))
    config["frontend_conf"]["dither"] = 0.0
    (copy / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return copy


@pytest.mark.parametrize("kind", ["sensevoice", "paraformer"])
def test_funasr_runs_on_the_gpu_and_gives_the_cpus_transcripts(kind: str, request, no_tf32,
                                                               tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    model = without_dither(request.getfixturevalue(f"tiny_{kind}"), tmp_path / "model")
    card = detect_machine({"GSV_FAKE_GPU": f"{torch.cuda.get_device_name(0)}:80"})
    folder = clips_folder(tmp_path / "voice", 3)

    def transcribe(device: str, where: str):
        return transcribe_folder(folder, AsrOptions(model=str(model), language="zh",
                                                    device=device),
                                 workspace=Workspace(tmp_path / where), profile=card)

    on_gpu, on_cpu = transcribe("auto", "gpu"), transcribe("cpu", "cpu")
    assert (on_gpu.device, on_cpu.device) == ("cuda:0", "cpu")
    assert on_gpu.transcribed == on_cpu.transcribed == 3 and not on_gpu.failures
    assert [c.text for c in on_gpu.clips] == [c.text for c in on_cpu.clips]
