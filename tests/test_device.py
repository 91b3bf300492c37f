"""The device, parsed once: every accepted name, and one clear error for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.cli import app
from scanner.device import Device, DeviceError, DeviceKind
from scanner.meters.select import cuda_device_index
from tests.tiny_models import make_not_a_model


@pytest.mark.parametrize(
    ("name", "kind", "index", "is_cuda", "gpu_index"),
    [
        ("cpu", DeviceKind.CPU, None, False, None),
        ("cuda", DeviceKind.CUDA, None, True, 0),
        ("cuda:0", DeviceKind.CUDA, 0, True, 0),
        ("cuda:3", DeviceKind.CUDA, 3, True, 3),
        ("mps", DeviceKind.MPS, None, False, None),
    ],
)
def test_device_names_parse_and_print_back(
    name: str, kind: DeviceKind, index: int | None, is_cuda: bool, gpu_index: int | None
) -> None:
    device = Device.parse(name)
    assert (device.kind, device.index) == (kind, index)
    assert device.is_cuda is is_cuda
    assert device.gpu_index == gpu_index
    assert str(device) == name
    assert Device.parse(str(device)) == device


@pytest.mark.parametrize(
    "name", ["", "tpu", "CUDA", "cudax", "cuda:", "cuda:x", "cuda:-1", "cpu:0", "mps:1", "cuda:1:2"]
)
def test_a_name_no_device_has_is_one_clear_error(name: str) -> None:
    with pytest.raises(DeviceError) as raised:
        Device.parse(name)
    message = str(raised.value)
    assert message == f"unknown device {name!r} (cpu, cuda, cuda:N or mps)"
    assert isinstance(raised.value, ValueError)


def test_the_meters_gpu_index_comes_from_the_parsed_device() -> None:
    assert [cuda_device_index(n) for n in ("cuda", "cuda:2", "cpu", "mps", "cuda:x")] == [
        0,
        2,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize("device", ["cuda:x", "mps", "gpu"])
def test_scan_with_a_device_it_cannot_measure_is_one_error_line(
    tmp_path: Path, device: str
) -> None:
    models = tmp_path / "models"
    make_not_a_model(models / "org" / "m")
    argv = ["scan", "--source", str(models), "--device", device]
    result = CliRunner().invoke(app, [*argv, "--catalog", str(tmp_path / "c.duckdb")])
    assert result.exit_code != 0, result.output
    assert result.stderr.splitlines() == [
        f"error: unknown device {device!r} (cpu, cuda or cuda:N)"
    ], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
