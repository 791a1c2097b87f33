"""lmtflow: reduce Large Millimeter Telescope spectral-line data to science-ready products."""

__version__ = "0.1.0"

from .interactive import load  # noqa: E402

__all__ = ["load", "__version__"]
