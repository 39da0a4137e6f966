"""The SoVITS training data: which clips train (upstream's intersection, duration filter and
repeat), the spectrogram cache and its invalidation, the resumable bucket sampler, collate."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gsv_core.audio import load_audio
from gsv_core.errors import DatasetError
from gsv_core.models.spectrogram import spectrogram
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.sovits_data import (
    SPEC_CACHE_FOLDER,
    BucketBatchSampler,
    SamplerState,
    SovitsDataset,
    collate,
    default_num_workers,
    ensure_spectrograms,
    make_loader,
    read_clips,
    repeated_indices,
)
from tests.train_fixtures import write_formatted_experiment


@pytest.fixture(scope="module")
def formatted(tmp_path_factory: pytest.TempPathFactory) -> ExperimentFiles:
    return write_formatted_experiment(tmp_path_factory.mktemp("ws"), "声音 data")


@pytest.fixture
def files(formatted: ExperimentFiles, tmp_path: Path) -> ExperimentFiles:
    """A private copy the test may change."""
    copy = tmp_path / "logs" / formatted.folder.name
    shutil.copytree(formatted.folder, copy)
    return ExperimentFiles(copy)


def test_every_formatted_clip_trains_and_a_small_set_is_repeated_as_upstream(formatted):
    clips, repeats = read_clips(formatted)
    assert [c.name for c in clips] == [f"clip_{i:03d}.wav" for i in range(6)]
    assert repeats == 16  # max(2, 100 // 6)
    size = (formatted.wav32k_dir / "clip_000.wav").stat().st_size
    assert clips[0].frames == size // 1280  # upstream's bytes // (2 · hop)
    assert all(c.phone_ids and all(isinstance(i, int) for i in c.phone_ids) for c in clips)
    assert repeated_indices(3, 2) == [0, 1, 2, 0, 1, 2]


def test_only_names_in_all_three_places_train(files):
    (files.hubert_file("clip_001.wav")).unlink()
    (files.wav32k_file("clip_002.wav")).unlink()
    lines = files.name2text.read_text(encoding="utf-8").splitlines()
    files.name2text.write_text("\n".join(row for row in lines if not row.startswith("clip_003"))
                               + "\n", encoding="utf-8")
    clips, repeats = read_clips(files)
    assert [c.name for c in clips] == ["clip_000.wav", "clip_004.wav", "clip_005.wav"]
    assert repeats == 33


def test_out_of_range_durations_and_unknown_phones_are_skipped_with_a_warning(files):
    soundfile.write(files.wav32k_file("clip_000.wav"), np.zeros(16000, np.float32), 32000,
                    subtype="PCM_16")  # 0.5 s
    lines = files.name2text.read_text(encoding="utf-8").splitlines()
    name, phones, *rest = lines[1].split("\t")
    lines[1] = "\t".join([name, phones + " NOT_A_PHONE", *rest])
    files.name2text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    warnings: list[str] = []
    clips, repeats = read_clips(files, warn=warnings.append)
    assert "clip_000.wav" not in {c.name for c in clips} and name not in {c.name for c in clips}
    assert repeats == 16  # counted before the filters, as upstream
    assert any("clip_000.wav" in w and "0.6" in w for w in warnings)
    assert any(name in w and "symbol" in w for w in warnings)


@pytest.mark.parametrize("missing", ["2-name2text.txt", "4-cnhubert", "5-wav32k"])
def test_a_missing_file_or_folder_is_named(files, missing):
    target = files.folder / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DatasetError, match=missing):
        read_clips(files)


def test_no_usable_clip_is_a_clear_error(files):
    for wav in files.wav32k_dir.iterdir():
        soundfile.write(wav, np.zeros(8000, np.float32), 32000, subtype="PCM_16")
    with pytest.raises(DatasetError, match="None of the 6 clips"):
        read_clips(files)
    shutil.rmtree(files.hubert_dir)
    files.hubert_dir.mkdir()
    with pytest.raises(DatasetError, match="No clip"):
        read_clips(files)


def test_spectrograms_are_cached_once_and_recomputed_when_the_wav_changes(files):
    clips, _ = read_clips(files)
    assert ensure_spectrograms(files, clips) == 6
    assert ensure_spectrograms(files, clips) == 0
    cache = files.folder / SPEC_CACHE_FOLDER / "clip_000.wav.pt"
    assert cache.is_file()
    wav_path = files.wav32k_file("clip_000.wav")
    item = SovitsDataset(files, clips, [0])[0]
    expected = spectrogram(torch.from_numpy(load_audio(wav_path)).unsqueeze(0))[0]
    torch.testing.assert_close(item.spec, expected)

    soundfile.write(wav_path, 0.1 * np.random.default_rng(1).standard_normal(64000)
                    .astype(np.float32), 32000, subtype="PCM_16")
    info = wav_path.stat()
    os.utime(wav_path, ns=(info.st_atime_ns, info.st_mtime_ns + 10_000_000))
    assert ensure_spectrograms(files, clips) == 1
    fresh = SovitsDataset(files, clips, [0])[0]
    assert fresh.spec.shape[1] == 100  # 2 s at 50 Hz: the new file, not the cached one
    cache.write_bytes(b"damaged")
    assert ensure_spectrograms(files, clips) == 1  # a damaged cache is only a miss


def test_items_align_hubert_frames_to_the_spectrogram(files):
    clips, _ = read_clips(files)
    name = clips[0].name
    ssl = torch.load(files.hubert_file(name), weights_only=True)
    torch.save(ssl[:, :, :-3], files.hubert_file(name))  # three frames short
    item = SovitsDataset(files, clips, [0])[0]
    assert item.ssl.shape == (768, item.spec.shape[1])
    torch.testing.assert_close(item.ssl[:, -4:], ssl[0, :, -4:-3].expand(-1, 4).float())
    torch.save(torch.zeros(2, 3), files.hubert_file(name))
    with pytest.raises(DatasetError, match=name):
        SovitsDataset(files, clips, [0])[0]


def test_collate_pads_ssl_and_spec_to_one_even_length_longest_first(formatted):
    clips, _ = read_clips(formatted)
    dataset = SovitsDataset(formatted, clips, [0, 1, 2])
    batch = collate([dataset[i] for i in range(3)])
    lengths = batch.spec_lengths.tolist()
    assert lengths == sorted(lengths, reverse=True) and lengths == [160, 120, 80]
    frames = 2 * (160 // 2 + 1)
    assert batch.ssl.shape == (3, 768, frames) and batch.spec.shape == (3, 1025, frames)
    assert batch.spec[2, :, 80:].abs().sum() == 0 and batch.ssl[2, :, 80:].abs().sum() == 0
    assert batch.wav.shape == (3, 1, 160 * 640) and batch.wav_lengths.tolist()[0] == 160 * 640
    assert batch.phone_ids.shape[1] == int(batch.phone_lengths.max())
    assert batch.to("cpu").size == 3


def _frames(n: int = 40) -> list[int]:
    rng = np.random.default_rng(0)
    return [int(x) for x in rng.integers(33, 1200, n)]


def test_sampler_order_is_fixed_by_seed_and_epoch_and_resumes_mid_epoch():
    frames = _frames()
    sampler = BucketBatchSampler(frames, 3, seed=7)
    first = sampler.batches(1)
    assert first == BucketBatchSampler(frames, 3, seed=7).batches(1)
    assert first != sampler.batches(2) and first != BucketBatchSampler(frames, 3, 8).batches(1)
    assert len(first) == len(sampler) and all(len(b) == 3 for b in first)
    sampler.set_epoch(1, start=4)
    assert list(sampler) == first[4:]
    state = SamplerState.from_dict(sampler.state(4).to_dict())
    assert state == SamplerState(seed=7, epoch=1, position=4)


def test_sampler_batches_hold_one_bucket_and_drop_what_no_bucket_holds():
    frames = [20, 32, 33, 299, 300, 301, 399, 1900, 1901, 5000]
    sampler = BucketBatchSampler(frames, 2, seed=0)
    assert sampler.left_out == 4  # <= 32 frames (0.64 s) and > 1900 (38 s), as upstream
    seen = {i for batch in sampler.batches(1) for i in batch}
    assert seen == {2, 3, 4, 5, 6, 7}
    for batch in sampler.batches(1):
        buckets = {0 if frames[i] <= 300 else 1 if frames[i] <= 400 else 2 for i in batch}
        assert len(buckets) == 1


def test_replicas_get_the_same_number_of_batches_from_a_shared_padding():
    frames = _frames(41)
    ranks = [BucketBatchSampler(frames, 2, seed=3, replicas=2, rank=r) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(ranks[0].batches(1))
    together = [i for r in ranks for batch in r.batches(1) for i in batch]
    assert set(together) == set(range(41))


def test_the_loader_yields_the_samplers_batches(formatted):
    clips, repeats = read_clips(formatted)
    dataset = SovitsDataset(formatted, clips, repeated_indices(len(clips), repeats))
    sampler = BucketBatchSampler(dataset.frames, 16, seed=1)
    sampler.set_epoch(2, start=len(sampler) - 1)
    assert default_num_workers("cpu") == 0
    batches = list(make_loader(dataset, sampler, device_type="cpu"))
    assert len(batches) == 1 and batches[0].size == 16
