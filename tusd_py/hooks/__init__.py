"""Hooks (tusd's hook points, delivered to Python callables, HTTP endpoints or executables) and the pipeline."""

from tusd_py.hooks.models import (
    ChangeFileInfo,
    HookRequest,
    HookResponse,
    HookType,
    HTTPResponse,
    RequestOrigin,
)

__all__ = ["ChangeFileInfo", "HTTPResponse", "HookRequest", "HookResponse", "HookType", "RequestOrigin"]
