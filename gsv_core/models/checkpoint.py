"""Read and write GPT-SoVITS weight files without running pickled code.

Layouts (upstream commit 48b1a01, ``GPT_SoVITS/process_ckpt.py``, ``s1_train.py``):

- ``SoVITS_weights_v2/<name>.pth``: ``{"weight": fp16 generator state dict without any
  ``enc_q`` key, "config": the s2.json tree (upstream pickles a ``utils.HParams``),
  "info": "<epoch>epoch_<step>iteration"}``.
- ``GPT_weights_v2/<name>.ckpt``: ``{"weight": fp16 ``Text2SemanticDecoder`` state dict with
  every key prefixed ``model.``, "config": the s1longer-v2.yaml tree as a dict,
  "info": "GPT-e<epoch>"}``.
- Official pretrained files: ``s2G2333k.pth`` / ``s2D2333k.pth`` hold ``{"weight": ...}`` (the
  generator including ``enc_q``; the discriminator), ``s1bert25hz-…ckpt`` holds ``weight``
  (``model.``-prefixed) and ``config``.

Newer upstream versions replace the first two bytes of the torch zip (``PK``) with a version
tag (``process_ckpt.my_save2``); v1/v2 files keep ``PK``. We read v1/v2 only and name the
others.

Loading goes through ``torch.load(weights_only=True)``; the only class beyond torch's own
allow-list is ``utils.HParams``, mapped to :class:`_HParamsShim` and turned into plain dicts.
The shim is added to torch's allow-list once, for the whole process, instead of with
``torch.serialization.safe_globals`` around each load: that context manager adds to and then
removes from one process-wide list, so a thread leaving it took the shim away from a thread
still loading ("Unsupported global: GLOBAL utils.HParams").

Writing goes to a temp file in the target folder (created like ``open()`` would, so the umask
decides its permissions), fsynced, renamed over the target, then the folder is fsynced: after
a crash or power loss the file is either the old one or the complete new one.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import nn

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import CheckpointError, ModelMissing
from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder

if TYPE_CHECKING:
    from gsv_core.models.sovits import SoVITSGenerator

__all__ = [
    "GPT_KEY_PREFIX",
    "UNSUPPORTED_HEADERS",
    "gpt_info",
    "load_gpt",
    "load_sovits",
    "load_strict",
    "read_checkpoint_dict",
    "read_discriminator_weights",
    "save_gpt_weights",
    "save_sovits_weights",
    "sovits_info",
    "sovits_symbol_version",
    "write_checkpoint_dict",
]

ZIP_MAGIC = b"PK"
_PICKLE_PROTO = b"\x80"  # first byte of torch's legacy (non-zip) format
# Two-byte tags upstream writes in place of "PK" (process_ckpt.head2version); v1/v2 tags are
# only ever read upstream, never written, but a file carrying one is still a v1/v2 file.
READABLE_HEADERS = {b"00": "v1", b"01": "v2"}
UNSUPPORTED_HEADERS = {
    b"02": "v3",
    b"03": "v3 LoRA",
    b"04": "v4 LoRA",
    b"05": "v2Pro",
    b"06": "v2ProPlus",
}
GPT_KEY_PREFIX = "model."  # .ckpt files hold the Lightning module's state dict
POSTERIOR_KEY = "enc_q"  # upstream drops the posterior encoder from user SoVITS files
# Rows of enc_p.text_embedding.weight: the symbol table size decides v1 or v2, not file size.
SYMBOL_ROWS_TO_VERSION = {322: "v1", 732: "v2"}


class _HParamsShim:
    """Stand-in for upstream's ``utils.HParams`` so torch's safe unpickler can rebuild it.

    The pickle stores the object's ``__dict__`` (nested HParams for ``train``/``data``/``model``);
    we keep it as-is and convert to plain dicts right after loading.
    """

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.fields = dict(state)


_HPARAMS_GLOBAL = (_HParamsShim, "utils.HParams")
# torch's allow-list is replaced, not updated in place, by every add: two unlocked adds can
# lose one. The lock makes check-and-add one step.
_ALLOW_LIST_LOCK = threading.Lock()


def _allow_hparams_shim() -> None:
    """Make sure ``utils.HParams`` → the shim is on torch's process-wide allow-list.

    Checked on every load (cheap) rather than remembered in a flag of ours, so the entry is
    put back if other code removed it (e.g. by leaving its own ``safe_globals`` block).
    """
    with _ALLOW_LIST_LOCK:
        if _HPARAMS_GLOBAL not in torch.serialization.get_safe_globals():
            torch.serialization.add_safe_globals([_HPARAMS_GLOBAL])


def _to_plain(value: Any) -> Any:
    """Recursively turn HParams shims and mappings into plain dicts (tensors untouched)."""
    if isinstance(value, _HParamsShim):
        return {k: _to_plain(v) for k, v in value.fields.items()}
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    return value


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ModelMissing(
            f"Weight file not found: {path}",
            "Check the path, or pick the file again in the model list.",
            expected_paths=(str(path),),
        )
    return path.read_bytes()


def _torch_bytes(path: Path, data: bytes) -> bytes:
    """The bytes torch can read: the zip as stored, or with a v1/v2 header put back to ``PK``."""
    header = data[:2]
    if header in UNSUPPORTED_HEADERS:
        raise CheckpointError(
            f"{path.name} is a GPT-SoVITS {UNSUPPORTED_HEADERS[header]} weight file; "
            "this version is not supported yet (only v1/v2).",
            "Use a v2 SoVITS weight file or the v2 pretrained model.",
            details=f"{path}: header {header!r}",
        )
    if header in READABLE_HEADERS:
        return ZIP_MAGIC + data[2:]
    return data


def read_checkpoint_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a GPT-SoVITS ``.pth``/``.ckpt`` file as plain nested dicts of tensors and values.

    No pickled code runs: torch's ``weights_only`` unpickler with ``utils.HParams`` mapped to a
    shim. The upstream version headers are handled (v1/v2 read, later versions refused).

    Raises:
        ModelMissing: the file does not exist.
        CheckpointError: unsupported version header, not a torch file, or it holds objects
            outside the allow-list (the error names them).
    """
    path = Path(path)
    data = _torch_bytes(path, _read_bytes(path))
    if not (zipfile.is_zipfile(io.BytesIO(data)) or data[:1] == _PICKLE_PROTO):
        raise CheckpointError(
            f"{path.name} is not a readable weight file (damaged or not a torch file).",
            "Re-download or re-export the file.",
            details=f"{path}: starts with {data[:8]!r}",
        )
    _allow_hparams_shim()
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path.name} contains Python objects that are not loaded for safety.",
            "Only weight files saved by GPT-SoVITS or GSV Studio can be read.",
            details=f"{path}: {exc}",
        ) from exc
    except (RuntimeError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CheckpointError(
            f"{path.name} is not a readable weight file (damaged or not a torch file).",
            "Re-download or re-export the file.",
            details=f"{path}: {exc}",
        ) from exc
    if not isinstance(loaded, Mapping):
        raise CheckpointError(
            f"{path.name} does not hold a dictionary of weights.",
            "Pick a GPT-SoVITS weight file.",
            details=f"{path}: top-level {type(loaded).__name__}",
        )
    return _to_plain(loaded)


def sovits_symbol_version(weight: Mapping[str, torch.Tensor], source: str = "This SoVITS file"
                          ) -> str:
    """``"v1"`` or ``"v2"`` from the rows of ``enc_p.text_embedding.weight`` (322 vs 732).

    Upstream (``inference_webui.change_sovits_weights``) decides the same way after its file
    size guess; the size guess alone misnames small v2 files, so we never use it.
    """
    emb = weight.get("enc_p.text_embedding.weight")
    if emb is None:
        raise CheckpointError(
            f"{source} has no text embedding (enc_p.text_embedding.weight): it is not a v2 "
            "SoVITS model (a GPT file, or a v3/v4 model, which is not supported yet).",
            "Use a v2 SoVITS weight file (.pth); GPT files (.ckpt) go in the GPT field.",
        )
    rows = int(emb.shape[0])
    if rows not in SYMBOL_ROWS_TO_VERSION:
        raise CheckpointError(
            f"{source}: enc_p.text_embedding.weight has {rows} rows; expected 322 (v1) or "
            "732 (v2).",
            "Use a GPT-SoVITS v1/v2 SoVITS weight file.",
        )
    return SYMBOL_ROWS_TO_VERSION[rows]


def write_checkpoint_dict(path: str | os.PathLike[str], payload: Mapping[str, Any]) -> Path:
    """Save ``payload`` with ``torch.save`` atomically and durably (see the module docstring).

    The file is a plain torch zip (``PK``), which every upstream loader reads. ``payload`` must
    hold only tensors, dicts, lists, strings, numbers, booleans and None (checked first, so
    the file always opens with ``weights_only=True``). Its permissions are those of a file
    made with ``open(path, "wb")`` (0666 less the umask), not ``mkstemp``'s private 0600: a
    weight file is meant to be copied and shared.
    """
    _check_plain(payload, "payload")
    return write_atomically(path, lambda handle: torch.save(dict(payload), handle))


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, (torch.Tensor, *_PLAIN_SCALARS)):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(f"Cannot save {where}: key {key!r} is not a string.")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise CheckpointError(
        f"Cannot save {where}: a {type(value).__name__} is not a tensor, dict, list, string or "
        "number.",
        "This is a bug in the caller; weight files hold plain data only.",
    )


# --- building models from files -----------------------------------------------------------

def load_strict(module: nn.Module, weights: Mapping[str, torch.Tensor], source: str,
                may_lack: str | None = None) -> None:
    """Copy ``weights`` into ``module``; every key must exist with the same shape.

    Keys containing ``may_lack`` may be absent (user SoVITS files have no ``enc_q``).
    Tensors are cast to each parameter's dtype; fp16 -> fp32 is exact, so saving back to
    fp16 gives the same bits.

    Raises:
        CheckpointError: naming the missing, unexpected or misshapen tensors.
    """
    expected = module.state_dict()
    missing = [k for k in expected
               if k not in weights and not (may_lack is not None and may_lack in k)]
    unexpected = [k for k in weights if k not in expected]
    misshapen = [f"{k} {tuple(weights[k].shape)} (model expects {tuple(v.shape)})"
                 for k, v in expected.items()
                 if k in weights and tuple(weights[k].shape) != tuple(v.shape)]
    problems = [(missing, "missing"), (unexpected, "unexpected"), (misshapen, "wrong shape")]
    found = [f"{label}: {', '.join(keys[:5])}{' …' if len(keys) > 5 else ''}"
             for keys, label in problems if keys]
    if found:
        raise CheckpointError(
            f"{source} does not fit the model ({'; '.join(found)}).",
            "Use a weight file of the same model version and size.",
            details=f"{len(missing)} missing, {len(unexpected)} unexpected, "
                    f"{len(misshapen)} misshapen",
        )
    with torch.no_grad():
        for key, target in expected.items():
            if key in weights:
                target.copy_(weights[key].to(target.dtype))


def _weights_of(data: Mapping[str, Any], path: Path) -> dict[str, torch.Tensor]:
    weight = data.get("weight")
    if not isinstance(weight, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in weight.values()):
        raise CheckpointError(
            f"{path.name} has no 'weight' dictionary of tensors.",
            "Pick a GPT-SoVITS weight file (SoVITS .pth or GPT .ckpt).",
            details=f"{path}: keys {sorted(data)}",
        )
    return dict(weight)


def load_gpt(path: str | os.PathLike[str], device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> Text2SemanticDecoder:
    """Build the GPT (eval mode) from ``GPT_weights_v2/*.ckpt`` or the pretrained s1bert ckpt."""
    path = Path(path)
    data = read_checkpoint_dict(path)
    weight = _weights_of(data, path)
    if not all(k.startswith(GPT_KEY_PREFIX) for k in weight):
        raise CheckpointError(f"{path.name} is not a GPT weight file (keys lack 'model.').",
                              "Pick a .ckpt file from GPT_weights_v2 or the pretrained GPT.")
    if not isinstance(data.get("config"), Mapping):
        raise CheckpointError(f"{path.name} has no GPT config.", "Re-export the GPT weights.")
    model = Text2SemanticDecoder(GPTConfig.from_upstream(data["config"]))
    load_strict(model, {k.removeprefix(GPT_KEY_PREFIX): v for k, v in weight.items()},
                path.name)
    return model.to(device=device, dtype=dtype).eval()


def load_sovits(path: str | os.PathLike[str], device: str | torch.device = "cpu",
                dtype: torch.dtype = torch.float32,
                default_config: Mapping[str, Any] | None = None) -> SoVITSGenerator:
    """Build the SoVITS generator from a user ``.pth`` or the pretrained ``s2G2333k.pth``.

    The config comes from the file; a file without one (the pretrained generator) uses
    ``default_config`` or else the full-size v2 defaults. As upstream, the symbol version is
    read from the text embedding and ``semantic_frame_rate`` is forced to "25hz". User files
    lack ``enc_q`` (only needed for training), which stays at its initial values.
    """
    from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator

    path = Path(path)
    data = read_checkpoint_dict(path)
    weight = _weights_of(data, path)
    version = sovits_symbol_version(weight, path.name)
    tree = data.get("config") or default_config
    config = SoVITSConfig() if tree is None else SoVITSConfig.from_upstream(
        _with_version(tree, version))
    model = SoVITSGenerator(config)
    load_strict(model, weight, path.name, may_lack=POSTERIOR_KEY)
    return model.to(device=device, dtype=dtype).eval()


def _with_version(tree: Mapping[str, Any], version: str) -> dict[str, Any]:
    model = {**tree.get("model", {}), "version": version, "semantic_frame_rate": "25hz"}
    return {**tree, "model": model}


def read_discriminator_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The state dict of the pretrained multi-period discriminator (``s2D2333k.pth``).

    Load it into the discriminator with :func:`load_strict`.
    """
    path = Path(path)
    weight = _weights_of(read_checkpoint_dict(path), path)
    if not all(k.startswith("discriminators.") for k in weight):
        raise CheckpointError(f"{path.name} is not a SoVITS discriminator file.",
                              "Pick s2D2333k.pth from gsv-v2final-pretrained.")
    return weight


# --- writing user weight files ------------------------------------------------------------

class _UpstreamConfig(Protocol):
    def to_upstream(self) -> dict[str, Any]: ...


def sovits_info(epoch: int, step: int) -> str:
    """The ``info`` string upstream writes into SoVITS files."""
    return f"{epoch}epoch_{step}iteration"


def gpt_info(epoch: int) -> str:
    """The ``info`` string upstream writes into GPT files."""
    return f"GPT-e{epoch}"


def _half_cpu(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in weights.items()}


def save_gpt_weights(path: str | os.PathLike[str],
                     model: Text2SemanticDecoder | Mapping[str, torch.Tensor],
                     config: GPTConfig, info: str) -> Path:
    """Write a ``GPT_weights_v2/*.ckpt`` file that upstream's loaders read.

    fp16 weights with the ``model.`` prefix, ``config`` as the plain s1longer-v2 dict (upstream
    reads ``config["data"]["max_sec"]``), ``info`` such as ``gpt_info(epoch)``.
    """
    weights = model.state_dict() if isinstance(model, nn.Module) else model
    payload = {
        "weight": {GPT_KEY_PREFIX + k: v for k, v in _half_cpu(weights).items()},
        "config": config.to_upstream(),
        "info": info,
    }
    return write_checkpoint_dict(path, payload)


def save_sovits_weights(path: str | os.PathLike[str],
                        model: nn.Module | Mapping[str, torch.Tensor],
                        config: _UpstreamConfig | Mapping[str, Any], info: str) -> Path:
    """Write a ``SoVITS_weights_v2/*.pth`` file that upstream's loaders read.

    fp16 weights without ``enc_q``; ``config`` as plain nested dicts, not a pickled
    ``utils.HParams``: every upstream reader either wraps it in ``DictToAttrRecursive`` or
    indexes it (``hps["model"]``), and both work on a dict (see docs/compatibility.md).
    """
    weights = model.state_dict() if isinstance(model, nn.Module) else model
    tree = config if isinstance(config, Mapping) else config.to_upstream()
    payload = {
        "weight": {k: v for k, v in _half_cpu(weights).items() if POSTERIOR_KEY not in k},
        "config": _to_plain(tree),
        "info": info,
    }
    return write_checkpoint_dict(path, payload)
