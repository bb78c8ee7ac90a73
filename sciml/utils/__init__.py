"""Small shared helpers: optional imports, atomic files, device selection."""
from sciml.utils.optional import require
from sciml.utils.device import default_device

__all__ = ["require", "default_device"]
