"""What machine are we on: GPUs, their memory, and live utilisation samples.

Discovery tries, in order: the ``GSV_FAKE_GPU`` simulation, NVML (the NVIDIA
driver's own library, through ``nvidia-ml-py``), ``torch.cuda`` (covers ROCm
builds and machines where NVML is missing), Apple MPS, and finally the CPU.
Apple MPS is also recognised without torch, from platform facts (Apple
silicon, macOS 12.3 or later), so the light UI start-up and the planner agree
on a Mac.
NVML comes first because it reports the card's real total and free memory and
its temperature without creating a CUDA context (which would cost the UI
process ~300 MB of GPU memory and seconds of start-up).

This module only *describes* hardware. Whether a card is good enough, and what
the app will do with it, are guideline questions answered in
``gsv_core.guidelines`` (rules H-1 to H-4).

``GSV_FAKE_GPU`` (documented in docs/environment.md) simulates hardware for
tests and demos::

    GSV_FAKE_GPU="NVIDIA GeForce RTX 4090:24"                  one 24 GB card
    GSV_FAKE_GPU="NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"
    GSV_FAKE_GPU="cpu"        no GPU          GSV_FAKE_GPU="cpu:16"   ... with 16 GB of RAM
    GSV_FAKE_GPU="mps"        an Apple silicon Mac (MPS), optionally "mps:32"
"""

from __future__ import annotations

import logging
import math
import os
import platform
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from gsv_core.errors import ConfigError

__all__ = [
    "FAKE_GPU_ENV",
    "GIB",
    "GpuInfo",
    "GpuMonitor",
    "GpuSample",
    "MachineProfile",
    "detect_machine",
    "parse_fake_gpu",
    "sample_gpus",
]

log = logging.getLogger(__name__)

FAKE_GPU_ENV = "GSV_FAKE_GPU"
GIB = 1024**3
# A plausibility bound for simulated cards, not a guideline: the largest cards sold have
# under 300 GB, so "9999" is a typing mistake, refused rather than planned for.
MAX_SIMULATED_GPU_GB = 1024
MIN_SIMULATED_GPU_GB = 0.001  # 1 MB
MPS_MIN_MACOS = (12, 3)  # the first macOS with the Metal Performance Shaders backend of torch

Vendor = Literal["nvidia", "amd", "intel", "apple", "unknown"]
Source = Literal["nvml", "torch", "fake"]
OsName = Literal["windows", "linux", "macos", "other"]


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as discovered; memory is dedicated memory only (never shared)."""

    index: int
    name: str
    vendor: Vendor
    total_memory_bytes: int
    free_memory_bytes: int | None  # None when the source cannot tell
    compute_capability: tuple[int, int] | None  # CUDA only, e.g. (8, 9)
    driver: str | None
    source: Source

    @property
    def vram_gb(self) -> int:
        """Memory as vendors label the card: the total rounded to the nearest GB (B-3).

        NVML reports an RTX 4090 as 23.99 GiB and a 3060 as 12.0 GiB; rounding
        (not flooring) puts both in the row printed on the box. The rounding is
        a guideline (B-3), so it lives in the guidelines package; imported here
        at call time because that package itself builds on this module.
        """
        from gsv_core.guidelines.tables import card_memory_gb

        return card_memory_gb(self.total_memory_bytes)

    @property
    def is_laptop(self) -> bool:
        """Mobile parts need the heat notice's laptop advice (H-4)."""
        lowered = self.name.lower()
        return any(marker in lowered for marker in ("laptop", "mobile", "max-q"))

    @property
    def torch_device(self) -> str:
        return f"cuda:{self.index}"


@dataclass(frozen=True)
class MachineProfile:
    """Everything the guideline engine needs to know about this machine."""

    gpus: tuple[GpuInfo, ...]
    os_name: OsName
    cpu_name: str
    cpu_count: int
    ram_gb: int
    apple_silicon: bool
    mps_available: bool
    fake_spec: str | None = None  # the GSV_FAKE_GPU value when simulated
    notes: tuple[str, ...] = field(default=())  # what discovery tried and why it fell back

    @property
    def is_fake(self) -> bool:
        return self.fake_spec is not None

    def gpu(self, index: int) -> GpuInfo:
        for gpu in self.gpus:
            if gpu.index == index:
                return gpu
        known = ", ".join(str(g.index) for g in self.gpus) or "none"
        raise ConfigError(f"There is no GPU with index {index} (GPUs found: {known}).",
                          f"Use one of the GPU indices found ({known})." if self.gpus else
                          "This machine has no GPU; leave the GPU choice automatic.")


@dataclass(frozen=True)
class GpuSample:
    """One live reading of a GPU, for the training monitor (T-5, B-7, H-4)."""

    index: int
    time_s: float  # time.monotonic() when taken
    utilisation_pct: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int
    temperature_c: float | None


# --------------------------------------------------------------------------- fake hardware

# NVIDIA datacenter and workstation cards as NVML names them on older drivers, without
# "NVIDIA": "A100-SXM4-40GB", "H100 PCIe", "L4", "T4", "Tesla V100-SXM2-16GB", "A10G" ...
_NVIDIA_DATACENTER = re.compile(
    r"^(?:tesla\b|titan\b|(?:gh|gb)\d{3}\b|[abhklptv]\d{1,3}[a-z]?s?(?=$|[\s\-_]))")


def _vendor_from_name(name: str) -> Vendor:
    """The vendor of a simulated card, from its name (a real NVML card is always NVIDIA)."""
    lowered = name.strip().lower()
    if any(word in lowered for word in ("nvidia", "geforce", "quadro", "tesla", "rtx", "gtx")):
        return "nvidia"
    if any(word in lowered for word in ("amd", "radeon", "instinct")):
        return "amd"
    if any(word in lowered for word in ("intel", "arc ")):
        return "intel"
    if "apple" in lowered:
        return "apple"
    if _NVIDIA_DATACENTER.match(lowered):
        return "nvidia"
    return "unknown"


def _parse_gb(text: str, entry: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    # At least one MB: a smaller positive number ("1E-10", found by fuzzing) made a card
    # of 0 bytes, which every rule then divides by.
    if not (math.isfinite(value) and MIN_SIMULATED_GPU_GB <= value <= MAX_SIMULATED_GPU_GB):
        raise ConfigError(
            f"{source}: '{entry}' has memory '{text}', which is not a number of GB between "
            f"{MIN_SIMULATED_GPU_GB:g} and {MAX_SIMULATED_GPU_GB}.",
            f'Write each card as NAME:GB, e.g. {source}="NVIDIA GeForce RTX 4090:24".')
    return value


@dataclass(frozen=True)
class FakeHardware:
    """The parsed form of ``GSV_FAKE_GPU``."""

    gpus: tuple[GpuInfo, ...]
    kind: Literal["gpu", "cpu", "mps"]
    ram_gb: int | None


def parse_fake_gpu(spec: str, source: str = FAKE_GPU_ENV) -> FakeHardware:
    """Parse a ``GSV_FAKE_GPU`` value; bad input raises ConfigError naming ``source`` and entry."""
    entries = [part.strip() for part in spec.split(";") if part.strip()]
    if not entries:
        raise ConfigError(f"{source} is given but empty.",
                          f"Leave {source} out, or give cards as NAME:GB separated by ';', or "
                          "'cpu' / 'mps'.")
    first = entries[0].lower()
    for kind in ("cpu", "mps"):
        if first == kind or first.startswith(kind + ":"):
            if len(entries) > 1:
                raise ConfigError(
                    f"{source}='{spec}': '{kind}' cannot be combined with cards.",
                                  f"Use either '{kind}' alone or a list of NAME:GB cards.")
            ram = _parse_gb(first.split(":", 1)[1], entries[0], source) if ":" in first else None
            return FakeHardware(gpus=(), kind=kind, ram_gb=None if ram is None else round(ram))
    gpus = []
    for index, entry in enumerate(entries):
        name, sep, gb_text = entry.rpartition(":")
        if not sep or not name.strip():
            raise ConfigError(f"{source}: '{entry}' is not of the form NAME:GB.",
                              f'Example: {source}="NVIDIA GeForce RTX 4090:24".')
        total = int(_parse_gb(gb_text.strip(), entry, source) * GIB)
        vendor = _vendor_from_name(name)
        gpus.append(GpuInfo(
            index=index, name=name.strip(), vendor=vendor, total_memory_bytes=total,
            free_memory_bytes=total, compute_capability=None,  # unknown for a simulated card
            driver="simulated", source="fake"))
    return FakeHardware(gpus=tuple(gpus), kind="gpu", ram_gb=None)


# --------------------------------------------------------------------------- real hardware

def _nvml():
    """Import and initialise NVML, or return None with the reason logged."""
    try:
        import pynvml
    except ImportError:
        return None, "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:  # LibraryNotFound without a driver, DriverNotLoaded, ...
        return None, f"NVML unavailable ({exc})"
    return pynvml, ""


def _discover_nvml() -> tuple[list[GpuInfo], str]:
    pynvml, why = _nvml()
    if pynvml is None:
        return [], why
    gpus = []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            try:
                capability = tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle))
            except pynvml.NVMLError:
                capability = None
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(GpuInfo(
                index=index, name=name if isinstance(name, str) else name.decode(),
                vendor="nvidia", total_memory_bytes=int(memory.total),
                free_memory_bytes=int(memory.free), compute_capability=capability,
                driver=driver if isinstance(driver, str) else driver.decode(), source="nvml"))
    except pynvml.NVMLError as exc:
        return [], f"NVML failed while listing GPUs ({exc})"
    return gpus, ""


def _discover_torch() -> tuple[list[GpuInfo], bool, str]:
    """CUDA/ROCm devices and MPS availability via torch (imported only here: it is slow)."""
    try:
        import torch
    except ImportError:
        return [], False, "torch is not installed"
    gpus = []
    if torch.cuda.is_available():
        vendor: Vendor = "amd" if getattr(torch.version, "hip", None) else "nvidia"
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            free, total = torch.cuda.mem_get_info(index)
            gpus.append(GpuInfo(
                index=index, name=props.name, vendor=vendor, total_memory_bytes=int(total),
                free_memory_bytes=int(free), compute_capability=(props.major, props.minor)
                if vendor == "nvidia" else None, driver=torch.version.cuda or torch.version.hip,
                source="torch"))
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return gpus, mps, ""


def _macos_version() -> tuple[int, ...]:
    """(14, 2, 1) on macOS 14.2.1; () elsewhere or when the platform does not say."""
    release = platform.mac_ver()[0]
    try:
        return tuple(int(part) for part in release.split(".") if part)
    except ValueError:
        return ()


def mps_supported(os_name: OsName, machine: str, macos_version: tuple[int, ...]) -> bool:
    """Apple MPS from platform facts alone: Apple silicon on macOS 12.3 or later.

    What torch's MPS backend needs; lets ``detect_machine(use_torch=False)``
    (the UI's fast start) report MPS as the torch path does.
    """
    return os_name == "macos" and machine == "arm64" and macos_version >= MPS_MIN_MACOS


def _os_name() -> OsName:
    system = platform.system()
    return {"Windows": "windows", "Linux": "linux", "Darwin": "macos"}.get(system, "other")


def _ram_gb() -> int:
    import psutil

    return round(psutil.virtual_memory().total / GIB)


def _cpu_name() -> str:
    name = platform.processor() or platform.machine()
    if platform.system() == "Linux":
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
                for line in cpuinfo:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass  # /proc may be absent in exotic containers; platform's answer stands
    return name or "unknown CPU"


def detect_machine(env: Mapping[str, str] | None = None, *, use_torch: bool = True,
                   fake_source: str = FAKE_GPU_ENV) -> MachineProfile:
    """Describe this machine (or the simulated one named by ``GSV_FAKE_GPU``).

    ``fake_source`` names where a simulated spec came from, for error messages
    (the plan command passes ``--gpu``). ``use_torch=False`` skips the torch
    fallback, for callers that must stay light (the UI start-up); NVML alone
    finds every NVIDIA card with a driver, and MPS is then read from the
    platform (``mps_supported``), so both paths report a Mac alike.
    """
    env = os.environ if env is None else env
    os_name = _os_name()
    apple_silicon = os_name == "macos" and platform.machine() == "arm64"
    platform_mps = mps_supported(os_name, platform.machine(), _macos_version())
    base = {"os_name": os_name, "cpu_name": _cpu_name(), "cpu_count": os.cpu_count() or 1}
    spec = env.get(FAKE_GPU_ENV, "").strip()
    if spec:
        fake = parse_fake_gpu(spec, fake_source)
        return MachineProfile(
            gpus=fake.gpus, ram_gb=fake.ram_gb or _ram_gb(),
            apple_silicon=fake.kind == "mps" or apple_silicon, mps_available=fake.kind == "mps",
            fake_spec=spec, notes=(f"simulated by {FAKE_GPU_ENV}={spec}",), **base)
    notes = []
    gpus, why = _discover_nvml()
    if why:
        notes.append(why)
    mps = platform_mps
    if not gpus and use_torch:
        gpus, torch_mps, why = _discover_torch()
        if why:
            notes.append(why)  # torch missing: the platform's MPS answer stands
        else:
            mps = torch_mps
            if not gpus:
                notes.append("torch sees no CUDA or ROCm device")
    if mps and not use_torch:
        notes.append(f"MPS assumed from the platform (Apple silicon, macOS "
                     f"{'.'.join(map(str, _macos_version()))})")
    log.info("hardware: %d GPU(s); %s", len(gpus), "; ".join(notes) or "NVML ok")
    return MachineProfile(gpus=tuple(gpus), ram_gb=_ram_gb(), apple_silicon=apple_silicon,
                          mps_available=mps, notes=tuple(notes), **base)


# --------------------------------------------------------------------------- live samples

def _simulated_sample(gpu: GpuInfo, now: float) -> GpuSample:
    # A fake card is idle: say so rather than invent activity.
    return GpuSample(index=gpu.index, time_s=now, utilisation_pct=0.0, memory_used_bytes=0,
                     memory_total_bytes=gpu.total_memory_bytes, temperature_c=None)


def _nvml_sample(pynvml, gpu: GpuInfo, now: float) -> GpuSample:
    """One NVML reading; a field the card does not report (NVMLError_NotSupported) is None."""

    def read(query, *args):
        try:
            return query(*args)
        except pynvml.NVMLError as exc:
            log.debug("NVML %s on GPU %d: %s", query.__name__, gpu.index, exc)
            return None

    handle = pynvml.nvmlDeviceGetHandleByIndex(gpu.index)
    memory = read(pynvml.nvmlDeviceGetMemoryInfo, handle)
    rates = read(pynvml.nvmlDeviceGetUtilizationRates, handle)
    temperature = read(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU)
    return GpuSample(
        index=gpu.index, time_s=now,
        utilisation_pct=None if rates is None else float(rates.gpu),
        memory_used_bytes=None if memory is None else int(memory.used),
        memory_total_bytes=gpu.total_memory_bytes if memory is None else int(memory.total),
        temperature_c=None if temperature is None else float(temperature))


def sample_gpus(profile: MachineProfile) -> list[GpuSample]:
    """Read utilisation, memory used and temperature of every GPU of ``profile`` now.

    Fields a source cannot read are None (e.g. temperature through torch), so
    the monitor can say "unknown" instead of showing a made-up zero.
    """
    now = time.monotonic()
    if profile.is_fake:
        return [_simulated_sample(gpu, now) for gpu in profile.gpus]
    pynvml, _ = _nvml() if any(g.source == "nvml" for g in profile.gpus) else (None, "")
    samples = []
    for gpu in profile.gpus:
        if pynvml is not None and gpu.source == "nvml":
            samples.append(_nvml_sample(pynvml, gpu, now))
        else:
            import torch

            free, total = torch.cuda.mem_get_info(gpu.index)
            samples.append(GpuSample(gpu.index, now, None, int(total - free), int(total), None))
    return samples


class GpuMonitor:
    """Samples all GPUs every ``interval_s`` on a daemon thread, keeping a bounded history.

    Used by the training monitor (T-5 utilisation at zero, B-7 pegged memory,
    H-4 temperature). ``on_sample`` callbacks run on the sampling thread.
    """

    def __init__(self, profile: MachineProfile, interval_s: float = 2.0,
                 history: int = 1800,
                 sampler: Callable[[MachineProfile], list[GpuSample]] = sample_gpus) -> None:
        self._profile = profile
        self._interval_s = interval_s
        self._sampler = sampler
        self._history: deque[list[GpuSample]] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_sample: list[Callable[[list[GpuSample]], None]] = []

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gpu-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval_s + 1)
            self._thread = None

    def history(self) -> list[list[GpuSample]]:
        with self._lock:
            return list(self._history)

    def _run(self) -> None:
        while not self._stop.is_set():
            samples = self._sampler(self._profile)
            with self._lock:
                self._history.append(samples)
            for callback in self.on_sample:
                callback(samples)
            self._stop.wait(self._interval_s)

    @contextmanager
    def running(self) -> Iterator[GpuMonitor]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
