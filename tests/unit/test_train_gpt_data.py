"""The GPT's training data: rows read and checked, upstream's filters, BERT features as
inference builds them, the bucket sampler's resumable order, and the padded batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gsv_core.errors import DatasetError
from gsv_core.models.gpt import BERT_DIM
from gsv_core.prepare.layout import SEMANTIC_HEADER, ExperimentFiles
from gsv_core.text.symbols import symbol_to_id, symbols
from gsv_core.train.gpt_data import (
    EOS_ID,
    MIN_ITEMS,
    PAD_MULTIPLE,
    BucketBatchSampler,
    collate_gpt,
    load_gpt_dataset,
)
from gsv_core.workspace import Workspace

PHONES = symbols()[200:260]  # any v2 symbols: the dataset only maps them to ids


def _write(root: Path, rows: list[tuple[str, int, int]], *,
           bert: dict[str, torch.Tensor] | None = None, text_lines: list[str] | None = None,
           semantic_lines: list[str] | None = None) -> ExperimentFiles:
    """rows: (name, n_phones, n_semantic_tokens); features only where ``bert`` has them."""
    files = ExperimentFiles.of(Workspace(root), "exp")
    bert = bert or {}
    files.bert_dir.mkdir(parents=True, exist_ok=True)
    text = text_lines if text_lines is not None else [
        f"{name}\t{' '.join(PHONES[i % len(PHONES)] for i in range(phones))}\tNone\ttext"
        for name, phones, _ in rows]
    semantic = semantic_lines if semantic_lines is not None else [SEMANTIC_HEADER] + [
        f"{name}\t{' '.join(str((7 * i) % 1024) for i in range(tokens))}"
        for name, _, tokens in rows]
    files.name2text.write_text("\n".join(text) + "\n", encoding="utf-8")
    files.name2semantic.write_text("\n".join(semantic) + "\n", encoding="utf-8")
    for name, tensor in bert.items():
        torch.save(tensor, files.bert_file(name))
    return files


def test_phones_map_through_the_v2_table_and_zh_clips_read_their_bert_file(tmp_path):
    zh = torch.randn(BERT_DIM, 20).half()
    files = _write(tmp_path, [("zh.wav", 20, 50), ("en.wav", 18, 50)], bert={"zh.wav": zh})
    dataset = load_gpt_dataset(files)
    by_name = {c.name: c for c in dataset.clips}
    table = symbol_to_id()
    assert by_name["zh.wav"].phone_ids == tuple(table[PHONES[i]] for i in range(20))
    assert by_name["zh.wav"].bert_file == files.bert_file("zh.wav")
    assert by_name["en.wav"].bert_file is None
    zh_index = dataset.clips.index(by_name["zh.wav"])
    en_index = dataset.clips.index(by_name["en.wav"])
    items = [dataset[(dataset.items.index(index), 0)] for index in (zh_index, en_index)]
    batch = collate_gpt(items)
    assert batch.bert.shape == (2, BERT_DIM, batch.phone_ids.shape[1])
    assert torch.equal(batch.bert[0, :, :20], zh)  # the formatted features, unchanged
    assert not batch.bert[0, :, 20:].any()  # padding
    assert not batch.bert[1].any()  # no file: zeros, as inference feeds non-Chinese text


def test_a_bert_file_of_the_wrong_length_is_an_error_naming_it(tmp_path):
    files = _write(tmp_path, [("zh.wav", 20, 50)], bert={"zh.wav": torch.zeros(BERT_DIM, 19)})
    with pytest.raises(DatasetError) as caught:
        load_gpt_dataset(files)
    assert str(files.bert_file("zh.wav")) in str(caught.value)
    assert "[1024, 20]" in str(caught.value)


@pytest.mark.parametrize(("text", "semantic", "line", "words"), [
    (["a.wav\tonly-two-fields"], None, 1, "tabs"),
    (["a.wav\tnot_a_symbol\tNone\tx"], None, 1, "not in the v2 symbol table"),
    (None, [SEMANTIC_HEADER, "a.wav\t1 2 x"], 2, "whole numbers"),
    (None, [SEMANTIC_HEADER, "a.wav\t1 2 1024"], 2, "0..1023"),
    (None, [SEMANTIC_HEADER, "a.wav"], 2, "tab"),
])
def test_bad_rows_are_errors_naming_file_and_line(tmp_path, text, semantic, line, words):
    files = _write(tmp_path, [("a.wav", 10, 50)], text_lines=text, semantic_lines=semantic)
    with pytest.raises(DatasetError) as caught:
        load_gpt_dataset(files)
    message = str(caught.value)
    path = files.name2text if text is not None else files.name2semantic
    assert f"{path}, line {line}" in message and words in message


def test_upstream_filters_leave_clips_out_with_their_reason(tmp_path):
    files = _write(tmp_path, [
        ("ok.wav", 30, 100),          # 7.5 phones/s
        ("long.wav", 100, 1351),      # over 54 s
        ("phones.wav", 541, 1350),    # over 540 phones (10 phones/s)
        ("slow.wav", 5, 50),          # 2.5 phones/s
        ("fast.wav", 60, 50),         # 30 phones/s
        ("edge.wav", 50, 50),         # exactly 25 phones/s: kept
    ])
    dataset = load_gpt_dataset(files)
    assert sorted(c.name for c in dataset.clips) == ["edge.wav", "ok.wav"]
    reasons = dict(dataset.skipped)
    assert set(reasons) == {"long.wav", "phones.wav", "slow.wav", "fast.wav"}
    assert "54 s" in reasons["long.wav"] and "540 phones" in reasons["phones.wav"]
    assert "phones per second" in reasons["slow.wav"] and "phones per second" in reasons["fast.wav"]


def test_few_clips_are_repeated_to_at_least_a_hundred_items(tmp_path):
    files = _write(tmp_path, [(f"c{i}.wav", 20, 50) for i in range(6)])
    dataset = load_gpt_dataset(files)
    assert len(dataset) == 6 * (1 + 100 // 6) >= MIN_ITEMS
    assert sorted(set(dataset.items)) == list(range(6))


def test_no_trainable_clip_is_an_error(tmp_path):
    files = _write(tmp_path, [("slow.wav", 2, 100)])
    with pytest.raises(DatasetError, match="no clip can train"):
        load_gpt_dataset(files)


def _sampler(**kwargs) -> BucketBatchSampler:
    durations = [0.5 + (i * 37 % 100) / 10 for i in range(103)]
    return BucketBatchSampler(durations, batch_size=4, seed=7, **kwargs)


def test_sampler_order_is_fixed_by_seed_and_epoch_and_resumes_mid_epoch():
    sampler = _sampler()
    sampler.set_epoch(3)
    full = list(sampler)
    assert sorted(i for batch in full for i, _ in batch) == list(range(103))
    again = _sampler()
    again.load_state_dict({"seed": 7, "epoch": 3, "start_batch": 5})
    assert list(again) == full[5:]  # the resumed run sees exactly the rest
    sampler.set_epoch(4)
    assert [b for b in sampler] != full  # another epoch, another order


def test_sampler_batches_hold_similar_lengths():
    sampler = _sampler()
    durations = sampler.durations_s
    spreads = [max(durations[i] for i in b) - min(durations[i] for i in b)
               for b in sampler.global_batches(0)]
    assert sum(s <= 2.0 for s in spreads) >= len(spreads) - 5  # 2 s buckets; a few straddle


def test_sampler_splits_each_global_batch_between_ranks():
    ranks = [_sampler(rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(1)
    batches = [list(s) for s in ranks]
    assert len(batches[0]) == len(batches[1]) == len(ranks[0]) == 13  # ceil(103 / 8)
    for a, b, chunk in zip(*batches, ranks[0].global_batches(1), strict=True):
        assert len(a) == len(b) == 4
        if len(chunk) == 8:
            assert [i for i, _ in a + b] == chunk


def test_collate_pads_semantic_with_eos_and_makes_non_empty_dpo_twins(tmp_path):
    files = _write(tmp_path, [("a.wav", 20, 50), ("b.wav", 30, 77)])
    dataset = load_gpt_dataset(files)
    items = [dataset[(0, 11)], dataset[(1, 11)]]
    batch = collate_gpt(items, dpo=True)
    assert batch.semantic_ids.shape[1] % PAD_MULTIPLE == 0
    assert batch.semantic_lens.tolist() == [50, 77]
    assert (batch.semantic_ids[0, 50:] == EOS_ID).all()
    assert batch.target_tokens == 50 + 77 + 2  # tokens + one EOS each
    assert batch.rejected_ids is not None and batch.rejected_lens is not None
    again = collate_gpt(items, dpo=True)
    assert torch.equal(batch.rejected_ids, again.rejected_ids)  # seeded by the batch
    for _ in range(30):
        seed = int(torch.randint(0, 2**31, (1,)))
        twins = collate_gpt([dataset[(0, seed)], dataset[(1, seed)]], dpo=True)
        for row in range(2):
            n, m = int(twins.rejected_lens[row]), int(batch.semantic_lens[row])
            assert n != m  # the span is never empty: the twin always differs
            assert (twins.rejected_ids[row, n:] == EOS_ID).all()
