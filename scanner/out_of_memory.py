"""Out-of-memory, recognised by the exception's type and never by its message.

torch raises `torch.OutOfMemoryError` (`torch.cuda.OutOfMemoryError` is the same class)
when an allocator on the device gives up; Python raises `MemoryError` when the host's
allocator does. A message that merely mentions memory (a tactic's own error, say) is not
an out-of-memory, and a run that did run out is recorded as one whatever torch printed.
"""

from __future__ import annotations

import torch

OUT_OF_MEMORY = "out of memory"  # the reason recorded for such a run

OUT_OF_MEMORY_ERRORS: tuple[type[BaseException], ...] = (
    torch.OutOfMemoryError,
    torch.cuda.OutOfMemoryError,
    MemoryError,
)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, OUT_OF_MEMORY_ERRORS)
