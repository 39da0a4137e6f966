"""Hardware discovery: the GSV_FAKE_GPU simulation, the real fallbacks, the live sampler."""

from __future__ import annotations

import threading

import pytest

from gsv_core.errors import ConfigError
from gsv_core.hardware import (
    GIB,
    GpuInfo,
    GpuMonitor,
    GpuSample,
    MachineProfile,
    detect_machine,
    parse_fake_gpu,
    sample_gpus,
)


def test_fake_gpu_single_card() -> None:
    fake = parse_fake_gpu("NVIDIA GeForce RTX 4090:24")
    (gpu,) = fake.gpus
    assert (gpu.index, gpu.name, gpu.vendor, gpu.vram_gb, gpu.source) == (
        0, "NVIDIA GeForce RTX 4090", "nvidia", 24, "fake")
    assert gpu.torch_device == "cuda:0" and gpu.free_memory_bytes == gpu.total_memory_bytes


def test_fake_gpu_several_cards_keep_their_order_and_vendor() -> None:
    fake = parse_fake_gpu("NVIDIA GeForce RTX 3060:12; AMD Radeon RX 7900 XTX:24 ")
    assert [(g.index, g.vendor, g.vram_gb) for g in fake.gpus] == [(0, "nvidia", 12),
                                                                   (1, "amd", 24)]


@pytest.mark.parametrize(("spec", "kind", "ram"), [("cpu", "cpu", None), ("mps", "mps", None),
                                                    ("cpu:16", "cpu", 16), ("MPS:32", "mps", 32)])
def test_fake_cpu_and_mps(spec: str, kind: str, ram: int | None) -> None:
    fake = parse_fake_gpu(spec)
    assert (fake.kind, fake.ram_gb, fake.gpus) == (kind, ram, ())


@pytest.mark.parametrize(("spec", "needle"), [
    ("", "empty"), ("RTX 4090", "NAME:GB"), ("RTX 4090:abc", "'abc'"), ("RTX:-3", "'-3'"),
    (":24", "NAME:GB"), ("cpu;RTX 4090:24", "cannot be combined"), ("RTX:nan", "'nan'"),
])
def test_fake_gpu_bad_specs_name_the_entry(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError, match="GSV_FAKE_GPU") as info:
        parse_fake_gpu(spec)
    assert needle in str(info.value) and info.value.advice


def test_vram_is_rounded_as_vendors_label_cards() -> None:
    # NVML reports a 4090 as 24564 MiB: 23.99 GiB, sold as 24 GB (B-3).
    gpu = GpuInfo(0, "NVIDIA GeForce RTX 4090", "nvidia", 24564 * 1024**2, None, (8, 9), "x",
                  "nvml")
    assert gpu.vram_gb == 24
    assert GpuInfo(0, "x", "nvidia", int(11.4 * GIB), None, None, None, "nvml").vram_gb == 11


def test_laptop_parts_are_recognised() -> None:
    assert parse_fake_gpu("NVIDIA GeForce RTX 4070 Laptop GPU:8").gpus[0].is_laptop
    assert not parse_fake_gpu("NVIDIA GeForce RTX 4070:12").gpus[0].is_laptop


def test_detect_machine_uses_the_simulation(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12")
    profile = detect_machine()
    assert profile.is_fake and [g.vram_gb for g in profile.gpus] == [24, 12]
    assert profile.gpu(1).name == "NVIDIA GeForce RTX 3060"
    with pytest.raises(ConfigError, match="index 5"):
        profile.gpu(5)


def test_detect_machine_mps_simulation(fake_gpu) -> None:
    fake_gpu("mps:16")
    profile = detect_machine()
    assert profile.mps_available and profile.apple_silicon and profile.ram_gb == 16


def test_detect_machine_on_this_real_machine_without_a_gpu() -> None:
    """The real discovery path: no NVIDIA driver here, so NVML and torch both fall back.

    Skipped where a GPU exists (the device machine), since then there is no fallback.
    """
    profile = detect_machine()
    if profile.gpus:
        pytest.skip("this machine has a GPU; the no-GPU fallback cannot be observed")
    assert not profile.is_fake and profile.ram_gb > 0 and profile.cpu_count >= 1
    assert any("NVML" in note or "nvidia-ml-py" in note for note in profile.notes)
    assert any("torch" in note for note in profile.notes)


def test_fake_gpus_sample_as_idle_not_invented_activity(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    (sample,) = sample_gpus(detect_machine())
    assert (sample.utilisation_pct, sample.memory_used_bytes, sample.temperature_c) == (0.0, 0,
                                                                                        None)


def test_gpu_monitor_keeps_a_bounded_history_and_calls_back() -> None:
    profile = MachineProfile(gpus=(), os_name="linux", cpu_name="x", cpu_count=1, ram_gb=1,
                             apple_silicon=False, mps_available=False)
    enough = threading.Event()
    taken: list[int] = []

    def sampler(_: MachineProfile) -> list[GpuSample]:
        taken.append(len(taken))
        return [GpuSample(0, float(taken[-1]), 50.0, 1, 2, 60.0)]

    def on_sample(samples: list[GpuSample]) -> None:
        if samples[0].time_s >= 5:
            enough.set()

    monitor = GpuMonitor(profile, interval_s=0.001, history=3, sampler=sampler)
    monitor.on_sample.append(on_sample)
    with monitor.running():
        assert enough.wait(10)
    times = [samples[0].time_s for samples in monitor.history()]
    assert len(times) == 3 and times == sorted(times)
    assert times[0] >= 3  # samples 0-2 were dropped: the history stays bounded


# ---------------------------------------------------------------------------------- issue 7

DATACENTER_NAMES = ["A100-SXM4-40GB", "H100 PCIe", "L4", "T4", "Tesla V100-SXM2-16GB",
                    "Quadro RTX 6000", "A10G", "L40S", "H200", "GH200 480GB", "A800 80GB PCIe",
                    "P100-PCIE-16GB"]


@pytest.mark.parametrize("name", DATACENTER_NAMES)
def test_item13_datacenter_names_as_older_nvml_reports_them_are_nvidia(name: str) -> None:
    from gsv_core.guidelines import classify_gpu

    (gpu,) = parse_fake_gpu(f"{name}:24").gpus
    assert gpu.vendor == "nvidia"
    assert classify_gpu(gpu).usable


@pytest.mark.parametrize(("name", "vendor"), [("AMD Instinct MI300X", "amd"),
                                              ("Intel Arc A770", "intel"), ("Apple M2", "apple"),
                                              ("Mystery Card 9000", "unknown")])
def test_item13_other_vendors_keep_their_vendor(name: str, vendor: str) -> None:
    assert parse_fake_gpu(f"{name}:16").gpus[0].vendor == vendor


class _FakeNvml:
    """A stand-in for the pynvml module (no NVIDIA driver here): one card with a bare name."""

    class NVMLError(Exception):
        pass

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, name: str) -> None:
        self._name = name

    def nvmlInit(self) -> None:  # pynvml's camelCase names, as the real module has them
        return None

    def nvmlSystemGetDriverVersion(self) -> str:
        return "470.00"

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetMemoryInfo(self, handle: int):
        class Memory:
            total = 16 * GIB
            free = 15 * GIB
        return Memory()

    def nvmlDeviceGetCudaComputeCapability(self, handle: int) -> tuple[int, int]:
        return (7, 5)

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return self._name.encode()


def test_item13_any_card_nvml_reports_is_nvidia_whatever_its_name(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", _FakeNvml("Mystery Card 9000"))  # pynvml mocked
    profile = detect_machine({}, use_torch=False)
    (gpu,) = profile.gpus
    assert (gpu.name, gpu.vendor, gpu.source, gpu.vram_gb) == ("Mystery Card 9000", "nvidia",
                                                               "nvml", 16)


@pytest.mark.parametrize(("system", "machine", "release", "mps"), [
    ("Darwin", "arm64", "14.2.1", True), ("Darwin", "arm64", "12.3", True),
    ("Darwin", "arm64", "12.2.1", False), ("Darwin", "x86_64", "14.0", False),
    ("Linux", "arm64", "", False)])
def test_item19_mps_is_detected_without_torch(monkeypatch, system: str, machine: str,
                                              release: str, mps: bool) -> None:
    """The UI's fast start (use_torch=False) reports MPS as the torch path does on a Mac.

    The platform facts are monkeypatched (this is no Mac); torch is made unimportable so a
    pass cannot come from torch.
    """
    import platform
    import sys

    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(platform, "mac_ver", lambda: (release, ("", "", ""), ""))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVIDIA driver on a Mac
    monkeypatch.setitem(sys.modules, "torch", None)
    profile = detect_machine({}, use_torch=False)
    assert profile.mps_available is mps
    assert profile.apple_silicon is (system == "Darwin" and machine == "arm64")
    from gsv_core.guidelines import decide_device

    assert decide_device(profile).inference_device == ("mps" if mps else "cpu")


@pytest.mark.parametrize("spec", ["RTX 4090:9999", "RTX 4090:inf", "RTX 4090:1e9"])
def test_item14_absurd_simulated_memory_is_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match=r"between 0\.001 and"):
        parse_fake_gpu(spec)


def test_item14_missing_gpu_index_advice_names_no_ui_tab() -> None:
    profile = parse_fake_gpu("NVIDIA GeForce RTX 4090:24")
    machine = MachineProfile(gpus=profile.gpus, os_name="linux", cpu_name="x", cpu_count=1,
                             ram_gb=8, apple_silicon=False, mps_available=False)
    with pytest.raises(ConfigError) as info:
        machine.gpu(3)
    assert "tab" not in str(info.value) and "0" in info.value.advice
