"""The device a model runs on, parsed once from its name ("cpu", "cuda", "cuda:N", "mps").

Jobs carry the device as its name (they travel to child processes and Ray workers as
JSON); whoever decides by it parses it here once instead of testing the string's prefix,
so a misspelt device is one clear error and not a silent CPU run. Standard library only:
the CLI checks `--device` without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DeviceError(ValueError):
    """A device name this project cannot run on."""


class DeviceKind(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


@dataclass(frozen=True)
class Device:
    kind: DeviceKind
    index: int | None = None  # "cuda:N"; None is the current device ("cuda")

    @classmethod
    def parse(cls, name: str) -> Device:
        """The device called `name`; DeviceError names the accepted forms."""
        prefix, colon, index = name.strip().partition(":")
        try:
            kind = DeviceKind(prefix)
        except ValueError:
            kind = None
        if kind is not None and not colon:
            return cls(kind)
        if kind is DeviceKind.CUDA and index.isdigit():
            return cls(kind, int(index))
        raise DeviceError(f"unknown device {name!r} (cpu, cuda, cuda:N or mps)")

    @property
    def is_cuda(self) -> bool:
        return self.kind is DeviceKind.CUDA

    @property
    def gpu_index(self) -> int | None:
        """The CUDA device's number (0 for "cuda"), None for any other device."""
        if not self.is_cuda:
            return None
        return self.index or 0

    def __str__(self) -> str:
        return self.kind.value if self.index is None else f"{self.kind.value}:{self.index}"
