"""The importer as the settings describe it (None when --imports is false)."""

from __future__ import annotations

from tusd_py.imports.importer import Importer, ImportLimits
from tusd_py.imports.policy import AllowList
from tusd_py.imports.source import Resolver, SourcePolicy, resolve
from tusd_py.settings import Settings
from tusd_py.uploads.service import UploadService


def importer_from(settings: Settings, service: UploadService, resolver: Resolver = resolve) -> Importer | None:
    if not settings.imports:
        return None
    policy = SourcePolicy(
        allow=AllowList.parse(settings.import_allow),
        max_redirects=settings.import_max_redirects,
        connect_timeout=settings.import_connect_timeout,
        read_timeout=settings.import_read_timeout,
        resolver=resolver,
    )
    limits = ImportLimits(
        max_size=settings.max_size, retries=settings.import_retries, total_timeout=settings.import_timeout
    )
    return Importer(service, policy, limits)
