"""tusd_py: a resumable-upload server speaking tus 1.0.0, as a Starlette ASGI app."""

from tusd_py.app import create_app
from tusd_py.protocol.errors import TusError
from tusd_py.settings import Settings

__version__ = "0.1.0"

__all__ = ["Settings", "TusError", "__version__", "create_app"]
