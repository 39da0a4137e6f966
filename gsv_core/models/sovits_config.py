"""``SoVITSConfig``: the shape of a SoVITS generator, read from and written to upstream's
nested s2.json layout (``{"train": …, "data": …, "model": …}``), which is what GPT-SoVITS
stores as ``config`` in ``SoVITS_weights_v2/*.pth``.

Fields the model reads are typed; every other entry of the upstream tree (learning rate,
experiment paths, …) is kept in ``upstream_extra`` so ``to_upstream`` gives back what was
read. Defaults are the v2 ``configs/s2.json`` of upstream commit 48b1a01.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from gsv_core.audio import (
    HOP_LENGTH,
    MAX_WAV_VALUE,
    N_FFT,
    N_MELS,
    REF_SPEC_BINS,
    SAMPLE_RATE,
    WIN_LENGTH,
)
from gsv_core.errors import ConfigError

__all__ = ["SoVITSConfig"]

_SYMBOLS = {"v1": 322, "v2": 732}  # text_embedding rows per symbol-table version
_MRTE_CHANNELS = 192  # upstream's MRTE is hard-wired to 192 content channels
_DATA_FIELDS = {"filter_length", "hop_length"}
_TRAIN_FIELDS = {"segment_size"}

# The data section upstream's loaders read besides the typed fields (inference reads
# sampling_rate and n_speakers); written when a config did not come from an upstream tree.
_DEFAULT_DATA = {
    "max_wav_value": MAX_WAV_VALUE,
    "sampling_rate": SAMPLE_RATE,
    "win_length": WIN_LENGTH,
    "n_mel_channels": N_MELS,
    "mel_fmin": 0.0,
    "mel_fmax": None,
    "add_blank": True,
    "n_speakers": 300,
    "cleaned_text": True,
}


@dataclass(frozen=True)
class SoVITSConfig:
    """Shape of a SoVITS v1/v2 generator (v2 defaults). Sizes are channels unless noted."""

    inter_channels: int = 192  # latent z channels
    hidden_channels: int = 192  # encoder width; must be 192 (MRTE)
    filter_channels: int = 768  # encoder feed-forward width
    n_heads: int = 2
    n_layers: int = 6  # text encoder layers; the SSL encoder and encoder2 get half each
    kernel_size: int = 3  # encoder feed-forward kernel
    p_dropout: float = 0.1
    resblock: str = "1"  # HiFi-GAN residual block type, "1" or "2"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (10, 8, 2, 2, 2)  # product = hop_length
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 8, 2, 2)
    n_layers_q: int = 3  # in s2.json; not read by the v2 model
    use_spectral_norm: bool = False  # discriminator norm (weight norm when False)
    gin_channels: int = 512  # style vector size
    semantic_frame_rate: str = "25hz"
    freeze_quantizer: bool = True
    version: str = "v2"
    filter_length: int = N_FFT  # data.filter_length: spectrogram bins = this // 2 + 1
    hop_length: int = HOP_LENGTH  # data.hop_length, samples
    segment_size: int = 20480  # train.segment_size: training slice, samples
    upstream_extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.version not in _SYMBOLS:
            raise ConfigError(
                f"SoVITS model version {self.version!r} is not supported.",
                "GSV Studio runs v1 and v2 models; v2Pro, v2ProPlus, v3 and v4 are not "
                "supported yet.",
            )
        if self.hidden_channels != _MRTE_CHANNELS:
            raise ConfigError(
                f"model.hidden_channels is {self.hidden_channels}, but the SoVITS MRTE block "
                f"only works with {_MRTE_CHANNELS}."
            )
        if self.semantic_frame_rate not in ("25hz", "50hz"):
            raise ConfigError(
                f"model.semantic_frame_rate must be '25hz' or '50hz', "
                f"not {self.semantic_frame_rate!r}."
            )
        if self.resblock not in ("1", "2"):
            raise ConfigError(f"model.resblock must be '1' or '2', not {self.resblock!r}.")
        upsampling = 1
        for rate in self.upsample_rates:
            upsampling *= rate
        if upsampling != self.hop_length:
            raise ConfigError(
                f"model.upsample_rates multiply to {upsampling}, but the hop is "
                f"{self.hop_length} samples; they must be equal."
            )

    @property
    def spec_channels(self) -> int:
        """Linear spectrogram bins (1025)."""
        return self.filter_length // 2 + 1

    @property
    def segment_frames(self) -> int:
        """Training slice length in spectrogram frames (32)."""
        return self.segment_size // self.hop_length

    @property
    def n_symbols(self) -> int:
        """Rows of the phone embedding: 732 for v2, 322 for v1."""
        return _SYMBOLS[self.version]

    @property
    def ref_bins(self) -> int:
        """Spectrogram bins the reference encoder reads: 704 in v2, all of them in v1."""
        return REF_SPEC_BINS if self.version == "v2" else self.spec_channels

    @classmethod
    def from_upstream(cls, tree: Mapping[str, Any]) -> SoVITSConfig:
        """Read an upstream s2.json-style tree (plain nested dicts, e.g. from a checkpoint).

        Missing model fields take the v2 defaults; a missing ``model.version`` means v2
        (upstream decides between v1 and v2 from the weights, see ``checkpoint``).

        Raises:
            ConfigError: a section is not a mapping, or a value does not fit the model.
        """
        extra = copy.deepcopy(dict(tree))
        values: dict[str, Any] = {}
        names = {f.name for f in fields(cls)} - {"upstream_extra"}
        for section, wanted in (
            ("model", names - _DATA_FIELDS - _TRAIN_FIELDS),
            ("data", _DATA_FIELDS),
            ("train", _TRAIN_FIELDS),
        ):
            part = extra.get(section, {})
            if not isinstance(part, Mapping):
                raise ConfigError(f"SoVITS config section {section!r} is not a mapping.")
            for name in wanted & part.keys():
                values[name] = part.pop(name)
        try:
            return replace(cls(upstream_extra=extra), **_as_tuples(values))
        except (TypeError, ValueError) as exc:
            message = "The SoVITS config does not fit the model."
            raise ConfigError(message, details=str(exc)) from exc

    def to_upstream(self) -> dict[str, Any]:
        """The nested upstream tree (lists, not tuples), with the kept extras merged in."""
        tree = copy.deepcopy(dict(self.upstream_extra))
        model = tree.setdefault("model", {})
        data = tree.setdefault("data", {})
        train = tree.setdefault("train", {})
        for f in fields(self):
            if f.name == "upstream_extra":
                continue
            value = _as_lists(getattr(self, f.name))
            if f.name in _DATA_FIELDS:
                data[f.name] = value
            elif f.name in _TRAIN_FIELDS:
                train[f.name] = value
            else:
                model[f.name] = value
        for key, value in _DEFAULT_DATA.items():
            data.setdefault(key, value)
        return tree


def _as_tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(map(_as_tuple, v)) if isinstance(v, list) else v for k, v in values.items()}


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _as_lists(value: Any) -> Any:
    return [_as_lists(v) for v in value] if isinstance(value, tuple) else value
