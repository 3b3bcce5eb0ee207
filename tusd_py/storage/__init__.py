"""Where upload bytes and their info live: the store interfaces and their implementations."""

from tusd_py.storage.base import Appender, Capability, UploadStore
from tusd_py.storage.file import FileStore

__all__ = ["Appender", "Capability", "FileStore", "UploadStore"]
