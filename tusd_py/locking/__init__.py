"""One writer per upload: the lock interface and its implementations."""

from tusd_py.locking.base import Locker, upload_locked
from tusd_py.locking.memory import MemoryLocker

__all__ = ["Locker", "MemoryLocker", "upload_locked"]
