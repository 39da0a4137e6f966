"""The SoVITS v2 generator (upstream ``SynthesizerTrn``): semantic tokens + phones + a
reference spectrogram → 32 kHz waveform, plus the training forward its losses need.

Sub-networks keep upstream's attribute names, so state-dict keys match GPT-SoVITS files:

- ``enc_p``: :class:`TextEncoder`, SSL content + phones (MRTE) → prior ``m_p``, ``logs_p``
- ``ref_enc``: :class:`~gsv_core.models.style_encoder.MelStyleEncoder`, reference → ``ge``
- ``ssl_proj`` + ``quantizer``: HuBERT features (50 Hz) → semantic tokens (25 Hz)
- ``enc_q``: :class:`PosteriorEncoder`, target spectrogram → ``z`` (training only)
- ``flow``: ``z`` ↔ ``z_p``, conditioned on ``ge``
- ``dec``: :class:`~gsv_core.models.hifigan.HiFiGANGenerator`, ``z`` → waveform

Shapes: ``T50`` frames at 50 Hz (HuBERT and spectrogram frames), ``T25 = T50 / 2`` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.errors import ConfigError
from gsv_core.models import attentions
from gsv_core.models.commons import length_mask, rand_slice_segments
from gsv_core.models.hifigan import HiFiGANGenerator
from gsv_core.models.modules import WN, ResidualCouplingBlock
from gsv_core.models.mrte import MRTE
from gsv_core.models.quantize import ResidualVectorQuantizer
from gsv_core.models.sovits_config import SoVITSConfig
from gsv_core.models.style_encoder import MelStyleEncoder

__all__ = [
    "PosteriorEncoder",
    "SoVITSConfig",
    "SoVITSDecodeOutput",
    "SoVITSGenerator",
    "SoVITSTrainOutput",
    "TextEncoder",
]

SSL_DIM = 768  # chinese-hubert-base hidden size
CODEBOOK_BINS = 1024


@dataclass(frozen=True)
class SoVITSDecodeOutput:
    """A decoded waveform and the intermediates it came from (kept for tests and tools)."""

    wav: torch.Tensor  # [B, 1, T50' · 640] in [-1, 1]; T50' = T50 at speed 1
    ge: torch.Tensor  # [B, gin, 1] style vector (mean over the references)
    m_p: torch.Tensor  # [B, inter, T50'] prior mean
    logs_p: torch.Tensor  # [B, inter, T50'] prior log-std
    y_mask: torch.Tensor  # [B, 1, T50']
    z: torch.Tensor  # [B, inter, T50'] flow output fed to the decoder


@dataclass(frozen=True)
class SoVITSTrainOutput:
    """What the SoVITS losses need from one training forward."""

    wav_slice: torch.Tensor  # [B, 1, segment_frames · hop] decoder output for the slices
    slice_starts: torch.Tensor  # [B] first frame of each slice (× hop for samples)
    y_mask: torch.Tensor  # [B, 1, T50] valid spectrogram frames
    z: torch.Tensor  # [B, inter, T50] posterior sample
    z_p: torch.Tensor  # [B, inter, T50] flow(z)
    m_p: torch.Tensor  # [B, inter, T50] prior mean
    logs_p: torch.Tensor  # [B, inter, T50]
    m_q: torch.Tensor  # [B, inter, T50] posterior mean
    logs_q: torch.Tensor  # [B, inter, T50]


class TextEncoder(nn.Module):
    """``enc_p``: quantized SSL content and phones → prior statistics per 50 Hz frame."""

    def __init__(self, config: SoVITSConfig) -> None:
        super().__init__()
        c = config
        self.out_channels = c.inter_channels

        def encoder(n_layers: int) -> attentions.Encoder:
            return attentions.Encoder(
                c.hidden_channels, c.filter_channels, c.n_heads, n_layers, c.kernel_size,
                c.p_dropout,
            )  # fmt: skip

        self.ssl_proj = nn.Conv1d(SSL_DIM, c.hidden_channels, 1)
        self.encoder_ssl = encoder(c.n_layers // 2)
        self.encoder_text = encoder(c.n_layers)
        self.text_embedding = nn.Embedding(c.n_symbols, c.hidden_channels)
        self.mrte = MRTE()
        self.encoder2 = encoder(c.n_layers // 2)
        self.proj = nn.Conv1d(c.hidden_channels, c.inter_channels * 2, 1)
        # Inference (``infer``) replays recorded CUDA graphs on CUDA; False: always eager.
        self.cuda_graphs = True

    def infer(self, quantized: torch.Tensor, phone_ids: torch.Tensor, ge: torch.Tensor,
              speed: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`forward` for unpadded inputs (every frame and phone valid), as inference
        calls it; at speed 1 on CUDA through a recorded graph (``prior_graph``)."""
        from gsv_core.models.prior_graph import graph_usable, prior_through_graph

        if speed == 1 and graph_usable(self, quantized, phone_ids):
            return prior_through_graph(self, quantized, phone_ids, ge)
        y_lengths = torch.full((quantized.shape[0],), quantized.shape[2],
                               device=quantized.device)
        phone_lengths = torch.full((phone_ids.shape[0],), phone_ids.shape[1],
                                   device=phone_ids.device)
        return self(quantized, y_lengths, phone_ids, phone_lengths, ge, speed)

    def forward(
        self,
        quantized: torch.Tensor,
        y_lengths: torch.Tensor,
        phone_ids: torch.Tensor,
        phone_lengths: torch.Tensor,
        ge: torch.Tensor,
        speed: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``quantized`` ``[B, 768, T50]``, ``phone_ids`` ``[B, T_text]``, ``ge`` ``[B, gin, 1]``
        → ``m_p``, ``logs_p`` ``[B, inter, T']`` and ``y_mask`` ``[B, 1, T']``, where
        ``T' = T50`` at speed 1 and ``int(T50 / speed) + 1`` otherwise (upstream's count)."""
        y_mask = length_mask(y_lengths, quantized.shape[2], quantized.dtype)
        y = self.ssl_proj(quantized * y_mask) * y_mask
        y = self.encoder_ssl(y, y_mask)

        text_mask = length_mask(phone_lengths, phone_ids.shape[1], y.dtype)
        text = self.text_embedding(phone_ids).transpose(1, 2)  # [B, hidden, T_text]
        text = self.encoder_text(text * text_mask, text_mask)
        y = self.mrte(y, y_mask, text, text_mask, ge)
        y = self.encoder2(y * y_mask, y_mask)

        if speed != 1:
            frames = int(y.shape[-1] / speed) + 1
            y = F.interpolate(y, size=frames, mode="linear")
            y_mask = F.interpolate(y_mask, size=frames, mode="nearest")
        m, logs = torch.split(self.proj(y) * y_mask, self.out_channels, dim=1)
        return m, logs, y_mask


class PosteriorEncoder(nn.Module):
    """``enc_q``: linear spectrogram → posterior ``z ~ N(m_q, exp(logs_q))`` (training only).

    The style vector is detached here, as upstream does: the posterior must not train the
    reference encoder.
    """

    def __init__(self, config: SoVITSConfig) -> None:
        super().__init__()
        c = config
        self.out_channels = c.inter_channels
        self.pre = nn.Conv1d(c.spec_channels, c.hidden_channels, 1)
        self.enc = WN(c.hidden_channels, 5, 1, 16, gin_channels=c.gin_channels)
        self.proj = nn.Conv1d(c.hidden_channels, c.inter_channels * 2, 1)

    def forward(
        self,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        ge: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """→ ``z``, ``m_q``, ``logs_q`` ``[B, inter, T50]`` and the mask ``[B, 1, T50]``."""
        mask = length_mask(spec_lengths, spec.shape[2], spec.dtype)
        h = self.enc(self.pre(spec) * mask, mask, g=ge.detach())
        m, logs = torch.split(self.proj(h) * mask, self.out_channels, dim=1)
        noise = torch.randn(m.shape, generator=generator, device=m.device, dtype=m.dtype)
        z = (m + noise * torch.exp(logs)) * mask
        return z, m, logs, mask


class SoVITSGenerator(nn.Module):
    """The SoVITS v2 generator; ``state_dict()`` keys equal upstream's ``SynthesizerTrn``."""

    def __init__(self, config: SoVITSConfig) -> None:
        super().__init__()
        c = config
        self.config = config
        self.enc_p = TextEncoder(c)
        self.dec = HiFiGANGenerator(
            c.inter_channels,
            c.resblock,
            c.resblock_kernel_sizes,
            c.resblock_dilation_sizes,
            c.upsample_rates,
            c.upsample_initial_channel,
            c.upsample_kernel_sizes,
            gin_channels=c.gin_channels,
        )
        self.enc_q = PosteriorEncoder(c)
        self.flow = ResidualCouplingBlock(
            c.inter_channels, c.hidden_channels, 5, 1, 4, gin_channels=c.gin_channels
        )
        self.ref_enc = MelStyleEncoder(c.ref_bins, style_vector_dim=c.gin_channels)
        stride = 2 if c.semantic_frame_rate == "25hz" else 1
        self.ssl_proj = nn.Conv1d(SSL_DIM, SSL_DIM, stride, stride=stride)
        self.quantizer = ResidualVectorQuantizer(SSL_DIM, n_q=1, bins=CODEBOOK_BINS)

    # -- shared steps ---------------------------------------------------------------------

    def _quantize(self, ssl: torch.Tensor) -> torch.Tensor:
        """HuBERT features ``[B, 768, T50]`` → codes ``[n_q, B, T25]``, in fp32 without
        autocast: the nearest-codeword search has margins near 1e-3 on distances near 450."""
        with torch.autocast(ssl.device.type, enabled=False), torch.no_grad():
            return self.quantizer.encode(self.ssl_proj(ssl.to(self.ssl_proj.weight.dtype)))

    def _dequantize(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[n_q, B, T25]`` → content ``[B, 768, T50]`` (each token held for 2 frames)."""
        quantized = self.quantizer.decode(codes)
        if self.config.semantic_frame_rate == "25hz":
            quantized = quantized.repeat_interleave(2, dim=2)
        return quantized

    def style_embedding(self, refer_specs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean style vector ``[B, gin, 1]`` of one or more reference spectrograms
        ``[B, 1025, T_ref]`` (any lengths). Compute it once per reference and pass it to
        :meth:`decode` as ``ge`` when decoding several sentences with the same reference."""
        if not refer_specs:
            raise ConfigError("decode needs at least one reference spectrogram")
        dtype = self.ssl_proj.weight.dtype
        bins = self.config.ref_bins
        # no mask: every frame of an unpadded reference is valid
        styles = [self.ref_enc(spec[:, :bins].to(dtype)) for spec in refer_specs]
        return torch.stack(styles).mean(0)

    # -- entry points ---------------------------------------------------------------------

    @torch.no_grad()
    def extract_latent(self, ssl: torch.Tensor) -> torch.Tensor:
        """HuBERT features ``[B, 768, T50]`` → semantic tokens ``[B, n_q, T25]`` (int64)."""
        return self._quantize(ssl).transpose(0, 1)

    @torch.no_grad()
    def decode(
        self,
        codes: torch.Tensor,
        phone_ids: torch.Tensor,
        refer_specs: Sequence[torch.Tensor] | None = None,
        *,
        ge: torch.Tensor | None = None,
        noise_scale: float = 0.5,
        speed: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> SoVITSDecodeOutput:
        """Synthesise a waveform.

        Args:
            codes: semantic tokens ``[n_q, B, T25]`` (upstream's layout; ``n_q`` is 1).
            phone_ids: target phone ids ``[B, T_text]``.
            refer_specs: reference spectrograms ``[B, 1025, T_ref]``; their styles are
                averaged. Give either these or ``ge`` (from :meth:`style_embedding`).
            noise_scale: std of the prior sample; 0 decodes the prior mean.
            speed: > 1 speaks faster (frames are linearly resampled before the flow).
            generator: random source of the prior noise.

        Returns:
            The waveform ``[B, 1, T' · 640]`` and its intermediates.
        """
        if (refer_specs is None) == (ge is None):
            raise ConfigError("decode needs exactly one of refer_specs or ge")
        if speed <= 0:
            raise ConfigError(f"speed must be positive, got {speed}")
        if ge is None:
            ge = self.style_embedding(refer_specs)
        dtype = self.ssl_proj.weight.dtype
        ge = ge.to(dtype)
        quantized = self._dequantize(codes).to(dtype)
        m_p, logs_p, y_mask = self.enc_p.infer(quantized, phone_ids, ge, speed)
        z_p = m_p
        if noise_scale:  # skip drawing noise that would be multiplied by zero
            noise = torch.randn(m_p.shape, generator=generator, device=m_p.device, dtype=dtype)
            z_p = m_p + noise * torch.exp(logs_p) * noise_scale
        z = self.flow(z_p, y_mask, g=ge, reverse=True)
        wav = self.dec(z * y_mask, g=ge)
        return SoVITSDecodeOutput(wav=wav, ge=ge, m_p=m_p, logs_p=logs_p, y_mask=y_mask, z=z)

    def forward(
        self,
        ssl: torch.Tensor,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        phone_ids: torch.Tensor,
        phone_lengths: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> SoVITSTrainOutput:
        """Training forward on a padded batch.

        Args:
            ssl: HuBERT features ``[B, 768, T50]``; ``T50`` even and equal to the spectrogram's
                padded length (upstream's collate pads both to the same even length).
            spec: linear spectrograms ``[B, 1025, T50]`` (zero-padded), lengths ``[B]``.
            phone_ids: ``[B, T_text]`` (zero-padded), lengths ``[B]``.
            generator: random source of the posterior noise and the slice positions.

        The quantizer is frozen (no gradient, no codebook update), as in upstream v2
        training; its commitment loss is therefore always 0 and not returned.
        """
        if not self.config.freeze_quantizer:
            raise ConfigError(
                "Training with an unfrozen quantizer is not supported.",
                "Set model.freeze_quantizer to true (the GPT-SoVITS v2 default).",
            )
        y_mask = length_mask(spec_lengths, spec.shape[2], spec.dtype)
        ge = self.ref_enc(spec[:, : self.config.ref_bins] * y_mask, y_mask)
        quantized = self._dequantize(self._quantize(ssl)).to(spec.dtype)
        if quantized.shape[2] != spec.shape[2]:
            raise ConfigError(
                f"SSL features give {quantized.shape[2]} frames but the spectrogram has "
                f"{spec.shape[2]}; pad both to the same even length."
            )
        m_p, logs_p, _ = self.enc_p(quantized, spec_lengths, phone_ids, phone_lengths, ge)
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, ge, generator=generator)
        z_p = self.flow(z, y_mask, g=ge)
        z_slice, starts = rand_slice_segments(
            z, spec_lengths, self.config.segment_frames, generator=generator
        )
        return SoVITSTrainOutput(
            wav_slice=self.dec(z_slice, g=ge),
            slice_starts=starts,
            y_mask=y_mask,
            z=z,
            z_p=z_p,
            m_p=m_p,
            logs_p=logs_p,
            m_q=m_q,
            logs_q=logs_q,
        )

