"""The g2pW polyphone backend, with a tiny G2PWModel folder built in the test's tmp dir.

The fake ``g2pW.onnx`` has upstream's input and output names and shapes
(``input_ids``/``token_type_ids``/``attention_mask`` [B, T] int64, ``phoneme_mask``
[B, labels] float32, ``char_ids``/``position_ids`` [B] int64 → probabilities
[B, labels]). Its score for label k is ``W[char_id, k] * is_polyphone[token at
position_id]``, masked to the character's readings and softmaxed: the test picks
``W`` to force a reading, and a wrong ``position_ids`` (the query token missed)
gives a tie that argmax resolves to the first label — never the forced one.
Labels and character rows are built here from upstream's rules (sorted sets),
independently of the code under test. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gsv_core.errors import ConfigError, ModelMissing, TextError
from gsv_core.text import clean_text, phones_and_features
from gsv_core.text.chinese import chinese_polyphone_backend
from gsv_core.text.g2pw import G2PW_REQUIRED_FILES, _query_row
from gsv_core.text.polyphones import default_g2pw_dir, load_polyphone_backend
from gsv_core.workspace import Workspace
from tests.fixture_paths import TEXT_DIR

onnx = pytest.importorskip("onnx", reason="building the fake g2pW model needs the onnx package")
pytest.importorskip("onnxruntime", reason="the g2pW backend runs on onnxruntime")
pytest.importorskip("opencc", reason="the g2pW backend converts text with OpenCC s2tw")

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# The fake model's polyphonic characters (Traditional, as in the real POLYPHONIC_CHARS.txt).
POLYPHONIC = [("行", "ㄒㄧㄥ2"), ("行", "ㄏㄤ2"), ("行", "ㄏㄤ4"), ("長", "ㄓㄤ3"), ("長", "ㄔㄤ2")]
MONOPHONIC = [("我", "ㄨㄛ2")]  # deliberately not pypinyin's wo3: shows the table wins
BOPOMOFO = {"ㄒㄧㄥ": "xing", "ㄏㄤ": "hang", "ㄓㄤ": "zhang", "ㄔㄤ": "chang", "ㄨㄛ": "wo"}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "行", "長", "他", "很", "了", "好", "多", "."]


def _fake_onnx(path: Path, favour: dict[str, str]) -> None:
    from onnx import TensorProto, helper, numpy_helper

    labels = sorted({reading for _, reading in POLYPHONIC})
    chars = sorted({char for char, _ in POLYPHONIC})
    weights = np.zeros((len(chars), len(labels)), dtype=np.float32)
    for char, reading in favour.items():
        weights[chars.index(char), labels.index(reading)] = 5.0
    is_polyphone = np.array([[1.0 if t in chars else 0.0] for t in VOCAB], dtype=np.float32)
    nodes = [
        helper.make_node("Gather", ["W", "char_ids"], ["char_scores"], axis=0),  # [B, L]
        helper.make_node("Unsqueeze", ["position_ids", "axis1"], ["positions"]),  # [B, 1]
        helper.make_node("GatherElements", ["input_ids", "positions"], ["query"], axis=1),
        helper.make_node("Squeeze", ["query", "axis1"], ["query_token"]),  # [B]
        helper.make_node("Gather", ["is_polyphone", "query_token"], ["gate"], axis=0),  # [B, 1]
        helper.make_node("Mul", ["char_scores", "gate"], ["scores"]),
        helper.make_node("Sub", ["phoneme_mask", "one"], ["closed"]),  # 0 allowed, -1 not
        helper.make_node("Mul", ["closed", "big"], ["penalty"]),
        helper.make_node("Add", ["scores", "penalty"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    b, t, n_labels = "batch", "tokens", len(labels)
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [b, t]),
        helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, [b, t]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [b, t]),
        helper.make_tensor_value_info("phoneme_mask", TensorProto.FLOAT, [b, n_labels]),
        helper.make_tensor_value_info("char_ids", TensorProto.INT64, [b]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, [b]),
    ]
    outputs = [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [b, n_labels])]
    initializers = [
        numpy_helper.from_array(weights, "W"),
        numpy_helper.from_array(is_polyphone, "is_polyphone"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(1e4, dtype=np.float32), "big"),
    ]
    graph = helper.make_graph(nodes, "fake_g2pw", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def make_workspace(root: Path, favour: dict[str, str] | None = None) -> Workspace:
    """A workspace with a fake G2PWModel folder and a BERT tokenizer.json."""
    workspace = Workspace(root)
    folder = default_g2pw_dir(workspace)
    folder.mkdir(parents=True)
    _fake_onnx(folder / "g2pW.onnx", favour or {})
    (folder / "POLYPHONIC_CHARS.txt").write_text(
        "\n".join(f"{c}\t{p}" for c, p in POLYPHONIC) + "\n", "utf-8")
    (folder / "MONOPHONIC_CHARS.txt").write_text(
        "\n".join(f"{c}\t{p}" for c, p in MONOPHONIC) + "\n", "utf-8")
    (folder / "bopomofo_to_pinyin_wo_tune_dict.json").write_text(
        json.dumps(BOPOMOFO, ensure_ascii=False), "utf-8")
    (folder / "config.py").write_text(
        "model_source = 'bert-base-chinese'\nuse_mask = True\nuse_char_phoneme = False\n"
        "window_size = 32\nparam_conditional = {'bias': True, 'fix_mode': None}\n", "utf-8")
    workspace.bert_dir.mkdir(parents=True)
    tokenizer = {"model": {"type": "WordPiece", "unk_token": "[UNK]",
                           "vocab": {token: i for i, token in enumerate(VOCAB)}}}
    (workspace.bert_dir / "tokenizer.json").write_text(
        json.dumps(tokenizer, ensure_ascii=False), "utf-8")
    return workspace


def _zh_phones(text: str, backend=None) -> list[str]:
    return list(clean_text(text, "zh", polyphones=backend).phones)


def test_without_folder_the_backend_is_pypinyin(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    expected = f"pypinyin (no G2PWModel folder at {default_g2pw_dir(workspace)})"
    assert chinese_polyphone_backend(workspace) == expected
    backend = load_polyphone_backend(workspace)
    assert (backend.name, backend.model, str(backend)) == ("pypinyin", None, expected)
    assert _zh_phones("他很行。", backend) == _zh_phones("他很行。")
    assert chinese_polyphone_backend() == "pypinyin"


def test_with_folder_the_backend_is_g2pw(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    folder = tmp_path / "GPT_SoVITS" / "text" / "G2PWModel"
    assert chinese_polyphone_backend(workspace) == f"g2pW ({folder})"
    backend = load_polyphone_backend(workspace)
    assert backend.name == "g2pW" and str(backend) == f"g2pW ({folder})"
    assert backend.model is not None and backend.model.folder == folder


@pytest.mark.parametrize(("forced", "phones"), [
    ("ㄏㄤ4", ["h", "ang4"]),  # not the first label: a missed query token could not give it
    ("ㄒㄧㄥ2", ["x", "ing2"]),
])
def test_polyphone_takes_the_model_reading(tmp_path: Path, forced: str, phones: list) -> None:
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": forced}))
    assert _zh_phones("他很行。", backend) == ["t", "a1", "h", "en3", *phones, "."]


def test_simplified_text_reaches_the_model_as_traditional(tmp_path: Path) -> None:
    # 长 is 長 to the model (OpenCC s2tw); pypinyin alone reads zhang3 here.
    assert _zh_phones("长了好多。")[:2] == ["zh", "ang3"]
    backend = load_polyphone_backend(make_workspace(tmp_path, {"長": "ㄔㄤ2"}))
    assert _zh_phones("长了好多。", backend) == ["ch", "ang2", "l", "e5", "h", "ao3", "d", "uo1",
                                                   "."]


def test_upstream_word_readings_override_the_model(tmp_path: Path) -> None:
    # 银行 is in upstream's polyphonic word list (yin2 hang2): the model's xing2 loses.
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": "ㄒㄧㄥ2"}))
    phones = _zh_phones("我去银行取钱。", backend)
    assert phones[4:8] == ["y", "in2", "h", "ang2"]


def test_monophonic_table_reading_is_used(tmp_path: Path) -> None:
    backend = load_polyphone_backend(make_workspace(tmp_path))
    assert _zh_phones("我去。")[:2] == ["w", "o3"]
    assert _zh_phones("我去。", backend)[:2] == ["w", "o2"]


def test_phones_and_features_pass_the_backend_on(tmp_path: Path) -> None:
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": "ㄏㄤ4"}))
    result = phones_and_features("他很行，真的很行。", "zh", polyphones=backend)
    assert result.phones.count("ang4") == 2


def test_sentence_longer_than_bert_is_cut_around_each_polyphone(tmp_path: Path) -> None:
    # 600 characters without punctuation: each query sees 510 centred on itself (upstream's
    # truncation), so both polyphones, far apart, are still found at their positions.
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": "ㄏㄤ4"}))
    text = "行" + "好" * 598 + "行"
    phones = _zh_phones(text, backend)
    assert phones[:2] == ["h", "ang4"] and phones[-2:] == ["h", "ang4"]


@pytest.mark.parametrize(("query", "start"), [(0, 0), (254, 0), (300, 45), (599, 90)])
def test_query_rows_keep_510_characters_around_the_query(query: int, start: int) -> None:
    window = "".join(chr(0x4E00 + i) for i in range(600))
    row, index = _query_row(window, query)
    assert len(row) == 510 and row == window[start : start + 510]
    assert row[index] == window[query]
    assert _query_row(window[:510], 509) == (window[:510], 509)


def test_pause_marks_and_other_languages_with_the_backend(tmp_path: Path) -> None:
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": "ㄏㄤ4"}))
    assert _zh_phones("他很￥行。", backend)[-3:] == ["h", "ang4", "."]
    assert "SP2" in _zh_phones("他很￥行。", backend)
    yue = "我哋去行街。"
    assert clean_text(yue, "yue", polyphones=backend) == clean_text(yue, "yue")


def _golden_zh_rows() -> list[dict]:
    rows = []
    for path in (TEXT_DIR / "golden.jsonl", DATA_DIR / "text_golden.jsonl"):
        if path.exists():
            rows += [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return [row for row in rows if row.get("lang") == "zh"]


# Golden rows (upstream's non-g2pW output) that upstream's g2pW path reads differently even
# though no character of the fake model is in them: readings there come from pypinyin over
# the whole sentence (not per jieba word), after an s2tw → t2s round trip, and upstream's
# word list wins. Each difference is upstream behaviour, not ours.
EXPECTED_G2PW_DIFFERENCES = {
    # 幺 becomes 么 in s2tw and stays 么 in upstream's t2s table; pypinyin reads 么 me5.
    "紧急情况请拨打幺幺零或者幺二零.": "幺 → me5",
    "这个项目花了幺二三四五六七元.": "幺 → me5",
    "这件衣服,幺九九.": "幺 → me5",
    "客服电话是四零零减幺二三减四五六七.": "幺 → me5",
    "座机号码是零幺零减六二三四五六七八.": "幺 → me5",
    # 着 becomes 著 (not mapped back); pypinyin reads 著 zhu4.
    "他背着书包去上学.": "着 → zhu4",
    # Sentence-level pypinyin: its phrase 为人 reads wei2; 了中 reads liao.
    "他为人民服务.": "为 → wei2",
    "公元前二二一年,秦始皇统一了中国.": "了 → liao5",
    # 唉 is one of the three single characters in upstream's word list (ai4).
    "唉…算了吧.": "唉 → ai4",
}


def test_golden_rows_without_model_characters_are_unchanged(tmp_path: Path) -> None:
    """Rows without a character the fake model or its table knows keep upstream's non-g2pW
    phones, except the listed rows where upstream's g2pW path itself reads differently."""
    import opencc

    to_traditional = opencc.OpenCC("s2tw")
    backend = load_polyphone_backend(make_workspace(tmp_path, {"行": "ㄏㄤ4"}))
    known = {c for c, _ in POLYPHONIC} | {c for c, _ in MONOPHONIC}
    rows = [r for r in _golden_zh_rows()
            if not known & set(to_traditional.convert(r["norm_text"]))]
    changed = {r["norm_text"] for r in rows if _zh_phones(r["text"], backend) != r["phones"]}
    assert len(rows) - len(changed) > 50
    assert changed == set(EXPECTED_G2PW_DIFFERENCES) & {r["norm_text"] for r in rows}
    for row in rows:  # word2ph never changes: still two phones a character
        assert list(clean_text(row["text"], "zh", polyphones=backend).word2ph) == row["word2ph"]


@pytest.mark.parametrize("name", G2PW_REQUIRED_FILES)
def test_a_missing_file_is_named(tmp_path: Path, name: str) -> None:
    workspace = make_workspace(tmp_path)
    missing = default_g2pw_dir(workspace) / name
    missing.unlink()
    with pytest.raises(ModelMissing) as describe_error:
        chinese_polyphone_backend(workspace)
    with pytest.raises(ModelMissing) as load_error:
        load_polyphone_backend(workspace)
    for error in (describe_error.value, load_error.value):
        assert str(missing) in error.message
        assert error.expected_paths == (str(missing),)


def test_lowercase_onnx_name_is_accepted(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, {"行": "ㄏㄤ4"})
    folder = default_g2pw_dir(workspace)
    (folder / "g2pW.onnx").rename(folder / "g2pw.onnx")
    assert _zh_phones("他很行。", load_polyphone_backend(workspace))[4:6] == ["h", "ang4"]


def test_missing_tokenizer_is_named(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    (workspace.bert_dir / "tokenizer.json").unlink()
    with pytest.raises(ModelMissing) as error:
        load_polyphone_backend(workspace)
    assert str(workspace.bert_dir / "tokenizer.json") in error.value.message


def test_unreadable_onnx_is_a_text_error(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    (default_g2pw_dir(workspace) / "g2pW.onnx").write_bytes(b"not a model")
    with pytest.raises(TextError, match="cannot be loaded"):
        load_polyphone_backend(workspace)


def test_onnx_with_other_inputs_is_a_text_error(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    workspace = make_workspace(tmp_path)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "other", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(default_g2pw_dir(workspace) / "g2pW.onnx"))
    with pytest.raises(TextError, match="is not a g2pW model"):
        load_polyphone_backend(workspace)


def test_config_code_is_never_run(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, {"行": "ㄏㄤ4"})
    marker = tmp_path / "ran"
    config = default_g2pw_dir(workspace) / "config.py"
    config.write_text(config.read_text("utf-8") + f"open({str(marker)!r}, 'w')\n", "utf-8")
    load_polyphone_backend(workspace)
    assert not marker.exists()


def test_missing_packages_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates an install without the g2pw extra: onnxruntime cannot be found.
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args):
        return None if name == "onnxruntime" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    workspace = make_workspace(tmp_path)
    backend = load_polyphone_backend(workspace)
    assert backend.name == "pypinyin" and backend.model is None
    assert "onnxruntime not installed" in str(backend)
    assert str(default_g2pw_dir(workspace)) in str(backend)


def test_folder_without_tokenizer_folder_or_workspace_is_a_config_error(tmp_path: Path) -> None:
    folder = default_g2pw_dir(make_workspace(tmp_path))
    with pytest.raises(ConfigError):
        load_polyphone_backend(g2pw_dir=folder)
    backend = load_polyphone_backend(g2pw_dir=folder, bert_dir=Workspace(tmp_path).bert_dir)
    assert backend.name == "g2pW"
