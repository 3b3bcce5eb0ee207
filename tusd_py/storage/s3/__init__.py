"""The S3 store (needs tusd_py[s3], aiobotocore): `from tusd_py.storage.s3 import S3Store`."""

from tusd_py.storage.s3.store import S3Store

__all__ = ["S3Store"]
