"""lmtflow: reduce Large Millimeter Telescope spectral-line data to science-ready products."""

__version__ = "0.1.0"

__all__ = ["load", "__version__"]


def __getattr__(name: str):
    """``lmtflow.load`` is imported on first use: workflow jobs that import a single
    ``lmtflow`` module then skip scipy and the interactive layer (~0.4 s per job)."""
    if name == "load":
        from .interactive import load

        return load
    raise AttributeError(f"module 'lmtflow' has no attribute {name!r}")
