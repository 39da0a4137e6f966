"""Character readings of a Mandarin sentence from the user's g2pW model (ONNX).

g2pW is a BERT classifier that picks the reading of a polyphonic character from
its context. Upstream GPT-SoVITS runs it from the folder ``GPT_SoVITS/text/G2PWModel``
(``GPT_SoVITS/text/g2pw/onnx_api.py`` at 48b1a01); this module reads the same
folder from disk and reproduces what upstream's converter returns for a sentence:

1. The sentence is converted to Taiwan Traditional characters (OpenCC ``s2tw``),
   because the model's character lists are Traditional.
2. Each character that the model knows as polyphonic (``POLYPHONIC_CHARS.txt``,
   less a few upstream overrides) is asked of the model, with at most 16
   characters of context on each side of the first and last such character.
3. Characters in ``MONOPHONIC_CHARS.txt`` take that table's reading; every other
   character takes pypinyin's reading of the sentence (converted back to
   Simplified characters).

Readings are pinyin with a tone digit (``"hang2"``); a punctuation mark reads as
itself. The model's labels are Bopomofo with a tone digit (``"ㄏㄤ2"``) and go
through the folder's ``bopomofo_to_pinyin_wo_tune_dict.json``.

Tokens come from the ``tokenizer.json`` of the Chinese BERT
(``chinese-roberta-wwm-ext-large``), as upstream's ``AutoTokenizer`` does. By
the time text gets here it holds only Hanzi and the six punctuation phones, and
BERT's tokenizer maps each such character to itself when it is in the
vocabulary and to ``[UNK]`` otherwise — so a vocabulary lookup per character
gives the same ids without loading ``transformers``.
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gsv_core.errors import ModelMissing, TextError
from gsv_core.text.third_party import quiet_import
from gsv_core.text.zh_normalize import traditional_to_simplified

__all__ = ["G2PW_REQUIRED_FILES", "G2pw", "check_g2pw_folder"]

log = logging.getLogger(__name__)

_ONNX_NAMES = ("g2pW.onnx", "g2pw.onnx")  # upstream accepts either spelling
_POLYPHONIC = "POLYPHONIC_CHARS.txt"
_MONOPHONIC = "MONOPHONIC_CHARS.txt"
_BOPOMOFO = "bopomofo_to_pinyin_wo_tune_dict.json"
_CONFIG = "config.py"
# What a G2PWModel folder must hold; the ONNX file may use either spelling.
G2PW_REQUIRED_FILES: tuple[str, ...] = (_ONNX_NAMES[0], _POLYPHONIC, _MONOPHONIC, _BOPOMOFO,
                                        _CONFIG)

# Upstream's overrides (onnx_api.py): characters never sent to the model although the
# model lists them, and characters whose MONOPHONIC_CHARS.txt entry is ignored.
_NOT_POLYPHONIC = frozenset("一不和咋嗲剖差攢倒難奔勁拗肖瘙誒泊听噢")
_NOT_MONOPHONIC = frozenset("似攢")
_CONTEXT_CHARS = 16  # upstream's default g2pw_polyphonic_context_chars
_MAX_TOKENS = 512  # BERT's position limit, [CLS] and [SEP] included
_TONES = "12345"


def check_g2pw_folder(folder: Path) -> None:
    """Raise ModelMissing naming every required file that ``folder`` lacks."""
    missing = [name for name in G2PW_REQUIRED_FILES[1:] if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in _ONNX_NAMES):
        missing.insert(0, _ONNX_NAMES[0])
    if missing:
        raise _model_missing(
            f"The g2pW model folder {folder} is incomplete; missing",
            [folder / name for name in missing],
            "Copy the whole G2PWModel folder from a GPT-SoVITS install (GPT_SoVITS/text/"
            "G2PWModel), or remove the folder to use the dictionary (pypinyin) instead.")


def _model_missing(what: str, paths: Sequence[Path], advice: str) -> ModelMissing:
    return ModelMissing(f"{what}: {', '.join(str(p) for p in paths)}", advice,
                        expected_paths=tuple(str(p) for p in paths))


def _read_config(path: Path) -> dict[str, Any]:
    """Literal assignments of the folder's ``config.py``.

    Upstream executes this file; we only read ``name = <literal>`` lines with
    ``ast`` (never run code from a model folder). Missing settings take upstream's
    defaults: masks on, plain phoneme labels.
    """
    settings: dict[str, Any] = {"use_mask": True, "use_char_phoneme": False}
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise TextError(f"The g2pW config file cannot be read: {path}",
                        "Replace the G2PWModel folder with a fresh copy.",
                        details=repr(exc)) from exc
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                settings[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # not a literal (an expression we need not evaluate)
    return settings


def _read_char_table(path: Path) -> list[tuple[str, str]]:
    """``char<TAB>bopomofo`` rows of POLYPHONIC_CHARS.txt / MONOPHONIC_CHARS.txt."""
    rows = []
    for number, line in enumerate(path.read_text("utf-8").strip().split("\n"), start=1):
        fields = line.split("\t")
        if len(fields) != 2:
            raise TextError(f"Line {number} of {path} is not 'character<TAB>reading'.",
                            "Replace the G2PWModel folder with a fresh copy.",
                            details=repr(line))
        rows.append((fields[0], fields[1]))
    return rows


def _read_vocab(bert_dir: Path) -> dict[str, int]:
    """Token → id of the Chinese BERT tokenizer (``tokenizer.json``, else ``vocab.txt``)."""
    tokenizer_json = bert_dir / "tokenizer.json"
    vocab_txt = bert_dir / "vocab.txt"
    if tokenizer_json.is_file():
        vocab = json.loads(tokenizer_json.read_text("utf-8"))["model"]["vocab"]
    elif vocab_txt.is_file():
        vocab = {token: i for i, token in enumerate(vocab_txt.read_text("utf-8").splitlines())}
    else:
        raise _model_missing(
            "The g2pW model needs the Chinese BERT tokenizer, which is missing",
            (tokenizer_json,),
            "Download the Chinese BERT (chinese-roberta-wwm-ext-large) on the models page, "
            "or copy it from a GPT-SoVITS install.")
    for token in ("[CLS]", "[SEP]", "[UNK]"):
        if token not in vocab:
            raise TextError(f"The BERT tokenizer in {bert_dir} has no {token} token.",
                            "Replace the chinese-roberta-wwm-ext-large folder with a fresh copy.")
    return vocab


@dataclass(frozen=True)
class _Labels:
    """The model's output classes and which of them each polyphonic character may take.

    labels: sorted class names (Bopomofo, or "char Bopomofo" when use_char_phoneme).
    char_ids: polyphonic character → its row in the model's character table (sorted chars).
    masks: polyphonic character → float mask over ``labels`` (1 for its readings).
    """

    labels: tuple[str, ...]
    char_ids: dict[str, int]
    masks: dict[str, np.ndarray]

    @classmethod
    def build(cls, rows: list[tuple[str, str]], *, use_mask: bool,
              use_char_phoneme: bool) -> _Labels:
        names = [f"{c} {p}" if use_char_phoneme else p for c, p in rows]
        labels = tuple(sorted(set(names)))
        index = {label: i for i, label in enumerate(labels)}
        readings: dict[str, list[int]] = {}
        for (char, _), name in zip(rows, names, strict=True):
            readings.setdefault(char, []).append(index[name])
        char_ids = {char: i for i, char in enumerate(sorted(readings))}
        masks = {}
        for char, allowed in readings.items():
            mask = np.zeros(len(labels), dtype=np.float32) if use_mask \
                else np.ones(len(labels), dtype=np.float32)
            mask[allowed] = 1.0
            masks[char] = mask
        return cls(labels, char_ids, masks)


class G2pw:
    """A loaded G2PWModel folder; call :meth:`readings` per sentence.

    Build it with :meth:`load`. The ONNX session runs on CUDA when onnxruntime
    offers it, else on the CPU (as upstream).
    """

    def __init__(self, folder: Path, session: Any, labels: _Labels, vocab: dict[str, int],
                 monophonic: dict[str, str], bopomofo: dict[str, str], to_traditional: Any,
                 use_char_phoneme: bool) -> None:
        self.folder = folder
        self._session = session
        self._labels = labels
        self._vocab = vocab
        self._monophonic = monophonic
        self._bopomofo = bopomofo
        self._to_traditional = to_traditional
        self._use_char_phoneme = use_char_phoneme
        self._asked = frozenset(labels.char_ids) - _NOT_POLYPHONIC

    @classmethod
    def load(cls, folder: Path, bert_dir: Path) -> G2pw:
        """Read ``folder`` (a G2PWModel) and the tokenizer of ``bert_dir``.

        Raises:
            ModelMissing: a required file is missing (the message names each one).
            TextError: a file is there but unreadable.
            ImportError: onnxruntime or opencc is not installed.
        """
        folder, bert_dir = Path(folder), Path(bert_dir)
        check_g2pw_folder(folder)
        onnxruntime = quiet_import("onnxruntime")
        opencc = quiet_import("opencc")
        config = _read_config(folder / _CONFIG)
        use_char_phoneme = bool(config["use_char_phoneme"])
        labels = _Labels.build(_read_char_table(folder / _POLYPHONIC),
                               use_mask=bool(config["use_mask"]),
                               use_char_phoneme=use_char_phoneme)
        monophonic = {c: p for c, p in _read_char_table(folder / _MONOPHONIC)
                      if c not in _NOT_MONOPHONIC}
        bopomofo = json.loads((folder / _BOPOMOFO).read_text("utf-8"))
        vocab = _read_vocab(bert_dir)
        onnx_path = next(folder / n for n in _ONNX_NAMES if (folder / n).is_file())
        session = _open_session(onnxruntime, onnx_path)
        log.info("g2pW loaded from %s (%d polyphonic characters)", folder, len(labels.char_ids))
        return cls(folder, session, labels, vocab, monophonic, bopomofo,
                   opencc.OpenCC("s2tw"), use_char_phoneme)

    def _to_pinyin(self, bopomofo: str) -> str | None:
        base, tone = bopomofo[:-1], bopomofo[-1:]
        syllable = self._bopomofo.get(base) if tone and tone in _TONES else None
        if not syllable:
            log.warning("g2pW reading %r has no pinyin in %s", bopomofo, _BOPOMOFO)
            return None
        return syllable + tone

    def readings(self, sentence: str) -> list[str]:
        """Pinyin with tone digit for each character of ``sentence`` (Simplified text).

        Punctuation marks read as themselves. A model or table reading that has
        no pinyin conversion falls back to pypinyin's reading (upstream crashes
        there) and is logged.
        """
        traditional = self._to_traditional.convert(sentence)
        if len(traditional) != len(sentence):
            raise TextError("Converting the text to Traditional characters changed its length.",
                            "Report this sentence as a bug.", details=repr(sentence))
        fallback = _pypinyin_readings(traditional_to_simplified(traditional))
        result: list[str | None] = []
        queries: list[int] = []
        for i, char in enumerate(traditional):
            if char in self._asked:
                queries.append(i)
                result.append(None)
            elif char in self._monophonic:
                result.append(self._to_pinyin(self._monophonic[char]))
            else:
                result.append(fallback[i])
        if queries:
            for i, label in zip(queries, self._predict(traditional, queries), strict=True):
                bopomofo = label.split(" ")[1] if self._use_char_phoneme else label
                result[i] = self._to_pinyin(bopomofo)
        return [reading or fallback[i] for i, reading in enumerate(result)]

    def _predict(self, text: str, queries: list[int]) -> list[str]:
        """The model's label for each queried character of ``text`` (Traditional)."""
        # Context: 16 characters either side of the first and last polyphone (upstream).
        left = max(0, queries[0] - _CONTEXT_CHARS)
        right = min(len(text), queries[-1] + _CONTEXT_CHARS + 1)
        window = text[left:right].lower()
        rows = [_query_row(window, i - left) for i in queries]  # (text, query index)
        unk = self._vocab["[UNK]"]
        ids = np.asarray([[self._vocab["[CLS]"], *(self._vocab.get(c, unk) for c in row),
                           self._vocab["[SEP]"]] for row, _ in rows], dtype=np.int64)  # [B, T]
        chars = [row[q] for row, q in rows]
        inputs = {
            "input_ids": ids,
            "token_type_ids": np.zeros_like(ids),
            "attention_mask": np.ones_like(ids),
            "phoneme_mask": np.stack([self._labels.masks[c] for c in chars]),  # [B, labels]
            "char_ids": np.asarray([self._labels.char_ids[c] for c in chars], dtype=np.int64),
            "position_ids": np.asarray([q + 1 for _, q in rows], dtype=np.int64),  # after [CLS]
        }
        probs = self._session.run(None, inputs)[0]  # [B, labels]
        return [self._labels.labels[k] for k in np.argmax(probs, axis=1).tolist()]


def _query_row(window: str, query: int) -> tuple[str, int]:
    """The text the model sees for one query, and the query's index in it.

    One character is one token here, so upstream's token truncation (``dataset.py``
    ``_truncate``) becomes: windows longer than BERT's 510 tokens are cut to 510
    characters centred on the query, shifted to stay inside the window. All rows of a
    batch then have the same length (the whole window, or 510).
    """
    keep = _MAX_TOKENS - 2
    if len(window) <= keep:
        return window, query
    start = min(max(query - keep // 2, 0), len(window) - keep)
    return window[start : start + keep], query - start


_INPUT_NAMES = frozenset(("input_ids", "token_type_ids", "attention_mask", "phoneme_mask",
                          "char_ids", "position_ids"))


def _open_session(onnxruntime: Any, onnx_path: Path) -> Any:
    """An inference session for ``onnx_path``; TextError when it is not a g2pW model."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 2  # as upstream: the front end shares the CPU with the UI
    options.log_severity_level = 3  # errors only; its warnings are about graph fusions
    available = onnxruntime.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    state = onnxruntime.capi.onnxruntime_pybind11_state  # its errors derive from Exception
    errors = (state.InvalidProtobuf, state.InvalidGraph, state.NoSuchFile, state.Fail,
              state.RuntimeException)
    try:
        session = onnxruntime.InferenceSession(str(onnx_path), sess_options=options,
                                               providers=providers)
    except errors as exc:
        raise TextError(f"The g2pW model file cannot be loaded: {onnx_path}",
                        "Replace the G2PWModel folder with a fresh copy.",
                        details=repr(exc)) from exc
    names = {node.name for node in session.get_inputs()}
    if names != _INPUT_NAMES:
        raise TextError(f"{onnx_path} is not a g2pW model: its inputs are {sorted(names)}.",
                        "Use the G2PWModel folder of GPT-SoVITS (G2PWModel_1.1).",
                        details=f"expected inputs {sorted(_INPUT_NAMES)}")
    return session


def _pypinyin_readings(sentence: str) -> list[str]:
    """pypinyin's reading of each character (tone digit, 5 for neutral), in sentence context."""
    pypinyin = quiet_import("pypinyin")
    pieces = pypinyin.pinyin(sentence, neutral_tone_with_five=True, style=pypinyin.Style.TONE3)
    readings = [piece[0] for piece in pieces]
    if len(readings) != len(sentence):
        # A run of non-Hanzi is one piece; the front end never produces one.
        raise TextError("The Mandarin reader got text with a run of non-Chinese characters.",
                        "Report this sentence as a bug.", details=repr(sentence))
    return readings
