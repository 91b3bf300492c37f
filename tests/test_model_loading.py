"""The loading guards one by one, fast: what `check_loadable` refuses and what
`load_pretrained` asks of transformers.

tests/test_safety.py checks the same rules end to end on every entry path; these pin each
branch and each reason text (the scan records the text, and `benchmark_model` tells a
refusal from a failure by it), in well under a second each, so that mutation testing
(`make mutants`) can run them for every change it makes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.tasks.base import ModelLoadError, check_loadable, load_pretrained, read_config

torch = pytest.importorskip("torch")
# Imported at collection: mutation testing forks each run from a process that has collected
# this module, so the seconds of importing transformers are paid once. The tiny BERT these
# tests load is conftest's `tiny_bert`, shared with the scan tests.
from transformers import AutoModelForSequenceClassification  # noqa: E402

REMOTE_CODE = "needs trust_remote_code (repository code is never run)"
PICKLE_ONLY = "only pickle weights (pass --allow-pickle to load them with weights_only=True)"


def folder_with(tmp_path: Path, files: dict[str, str], config: dict[str, Any] | None = None):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config or {"model_type": "bert"}))
    for name, content in files.items():
        (folder / name).write_text(content)
    return folder


class RecordingLoader:
    """Stands in for an Auto class: records the arguments, then loads with the real one."""

    def __init__(self) -> None:
        self.real = AutoModelForSequenceClassification
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def from_pretrained(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.real.from_pretrained(*args, **kwargs)


# -- read_config ------------------------------------------------------------------------------


def test_read_config_returns_the_parsed_config(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, {}, {"model_type": "bert", "hidden_size": 16})
    assert read_config(folder) == {"model_type": "bert", "hidden_size": 16}


def test_a_folder_without_config_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as error:
        read_config(tmp_path)
    assert str(error.value) == f"not a model folder (no config.json): {tmp_path}"


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage"])
def test_an_unreadable_config_is_one_line(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(ModelLoadError) as error:
        read_config(tmp_path)
    assert str(error.value).startswith("config.json is not valid JSON: ")
    assert error.value.__cause__ is None and error.value.__suppress_context__


# -- check_loadable ---------------------------------------------------------------------------


@pytest.mark.parametrize("allow_pickle", [False, True])
def test_repository_code_is_refused_whatever_the_weights_and_flags(
    tmp_path: Path, allow_pickle: bool
) -> None:
    config = {"model_type": "bert", "auto_map": {"AutoModel": "modeling_x.X"}}
    folder = folder_with(tmp_path, {"model.safetensors": "x", "pytorch_model.bin": "x"}, config)
    with pytest.raises(ModelLoadError) as error:
        check_loadable(folder, allow_pickle)
    assert str(error.value) == REMOTE_CODE


@pytest.mark.parametrize("allow_pickle", [False, True])
def test_a_folder_without_weights_is_refused(tmp_path: Path, allow_pickle: bool) -> None:
    folder = folder_with(tmp_path, {"weights.txt": "x"})
    with pytest.raises(ModelLoadError) as error:
        check_loadable(folder, allow_pickle)
    assert str(error.value) == f"no weights file in {folder}"


@pytest.mark.parametrize("pickle_file", ["pytorch_model.bin", "model.pt"])
def test_pickle_only_weights_need_the_flag(tmp_path: Path, pickle_file: str) -> None:
    folder = folder_with(tmp_path, {pickle_file: "x"})
    with pytest.raises(ModelLoadError) as error:
        check_loadable(folder, allow_pickle=False)
    assert str(error.value) == PICKLE_ONLY
    assert check_loadable(folder, allow_pickle=True) is None


@pytest.mark.parametrize(
    "files", [{"model.safetensors": "x"}, {"model.safetensors": "x", "pytorch_model.bin": "x"}]
)
def test_safetensors_pass_without_the_flag(tmp_path: Path, files: dict[str, str]) -> None:
    assert check_loadable(folder_with(tmp_path, files), allow_pickle=False) is None


# -- load_pretrained --------------------------------------------------------------------------


def test_load_pretrained_keeps_remote_code_off_and_safetensors_on(tiny_bert: Path) -> None:
    loader = RecordingLoader()

    model = load_pretrained(loader, tiny_bert, "cpu", allow_pickle=False)

    [(args, kwargs)] = loader.calls
    assert args == (str(tiny_bert),)
    assert kwargs == {
        "trust_remote_code": False,
        "use_safetensors": True,
        "local_files_only": True,
    }
    assert not model.training
    assert next(model.parameters()).device.type == "cpu"


def test_with_allow_pickle_safetensors_are_not_forced_and_remote_code_stays_off(
    tiny_bert: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_bytes((tiny_bert / "config.json").read_bytes())
    torch.save(load_file(tiny_bert / "model.safetensors"), pickled / "pytorch_model.bin")
    loader = RecordingLoader()

    model = load_pretrained(loader, pickled, "cpu", allow_pickle=True)

    [(_, kwargs)] = loader.calls
    assert kwargs["trust_remote_code"] is False and kwargs["use_safetensors"] is None
    assert kwargs["local_files_only"] is True
    reference = load_pretrained(RecordingLoader(), tiny_bert, "cpu", allow_pickle=False)
    for (name, value), (_, expected) in zip(
        model.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert torch.equal(value, expected), name


def test_load_pretrained_checks_before_it_loads(tiny_bert: Path, tmp_path: Path) -> None:
    folder = tmp_path / "remote"
    folder.mkdir()
    for item in tiny_bert.iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "m.M"}}))
    loader = RecordingLoader()

    with pytest.raises(ModelLoadError, match="needs trust_remote_code"):
        load_pretrained(loader, folder, "cpu", allow_pickle=False)
    assert loader.calls == []


def test_a_broken_checkpoint_is_a_one_line_load_error(tiny_bert: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corrupt"
    folder.mkdir()
    (folder / "config.json").write_bytes((tiny_bert / "config.json").read_bytes())
    (folder / "model.safetensors").write_bytes(b"\x00garbage\nsecond line" * 8)

    with pytest.raises(ModelLoadError) as error:
        load_pretrained(RecordingLoader(), folder, "cpu", allow_pickle=False)

    message = str(error.value)
    assert message.startswith("load error: ") and len(message) > len("load error: ")
    assert "\n" not in message
    assert error.value.__suppress_context__


def test_an_error_without_text_is_named_by_its_type(tiny_bert: Path) -> None:
    class Failing:
        @staticmethod
        def from_pretrained(*args: Any, **kwargs: Any) -> Any:
            raise OSError()

    with pytest.raises(ModelLoadError) as error:
        load_pretrained(Failing, tiny_bert, "cpu", allow_pickle=False)
    assert str(error.value) == "load error: OSError"


def test_only_the_first_line_of_a_loader_error_is_kept(tiny_bert: Path) -> None:
    class Failing:
        @staticmethod
        def from_pretrained(*args: Any, **kwargs: Any) -> Any:
            raise ValueError("  first line\nsecond line\nthird  ")

    with pytest.raises(ModelLoadError) as error:
        load_pretrained(Failing, tiny_bert, "cpu", allow_pickle=False)
    assert str(error.value) == "load error: first line"


def test_load_pretrained_moves_the_model_to_the_device_asked_for(tiny_bert: Path) -> None:
    # "meta" is a device every torch build has: moving there shows the device is passed on
    # (a GPU run checks cuda itself, tests/test_gpu.py)
    model = load_pretrained(RecordingLoader(), tiny_bert, "meta", allow_pickle=False)
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert not model.training
