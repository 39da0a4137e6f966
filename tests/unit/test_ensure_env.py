"""scripts/ensure_env.py's choice of PyTorch build for an NVIDIA driver (standard library
only; the real nvidia-smi header format, as drivers 535-580 print it)."""

from __future__ import annotations

import pytest

from tests.scripts_loader import load_script

SMI_HEADER = ("| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      "
              "CUDA Version: {cuda}     |\n")


def ensure_env():
    return load_script("ensure_env")


@pytest.mark.parametrize(("cuda", "index"), [
    ("13.0", "cu130"), ("12.9", "cu129"), ("12.8", "cu128"), ("12.7", "cu126"),
    ("12.4", "cu124"), ("12.2", "cu118"), ("11.8", "cu118"), ("11.4", None)])
def test_the_newest_build_the_driver_runs(cuda, index):
    module = ensure_env()
    driver = module.driver_cuda_version(SMI_HEADER.format(cuda=cuda))
    assert driver == tuple(int(part) for part in cuda.split("."))
    found = module.cuda_index_for(driver)
    assert found == (None if index is None else "https://download.pytorch.org/whl/" + index)


def test_an_unreadable_header_gives_no_version():
    assert ensure_env().driver_cuda_version("NVIDIA-SMI has failed") is None
