"""Keep known, harmless third-party warnings off the user's console.

torchao logs a warning for each optional CUDA kernel library it cannot load on a CPU-only
machine, and torch logs a deprecation note for two of torchao's enums; transformers imports
torchao whenever it loads a model. Neither says anything about the user's models, so both
loggers are raised to ERROR. Real errors still show.
"""

from __future__ import annotations

import logging

NOISY_LOGGERS = ("torchao", "torch.utils._pytree")


def quiet_library_logs() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
