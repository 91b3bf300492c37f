"""Where models come from: the bundled demo models, a local folder, or the Hugging Face Hub."""

from scanner.discovery.base import DiscoveryError, ModelRef

__all__ = ["DiscoveryError", "ModelRef"]
