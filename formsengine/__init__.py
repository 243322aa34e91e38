"""formsengine: a plugin-based risk-assessment forms engine."""

__version__ = "0.2.0"

from .hookspecs import hookimpl  # noqa: E402

__all__ = ["hookimpl", "__version__"]
