"""The ASGI application: /uploads/… goes to tusd_py, everything else to Django.

Run it with:  python -m examples.embed_django.manage migrate
              python -m examples.embed_django.manage createsuperuser
              uvicorn examples.embed_django.asgi:application --port 8000
Sign in at http://127.0.0.1:8000/accounts/login/, then upload with any tus client to
http://127.0.0.1:8000/uploads/files/ sending Django's session cookie (a browser page of the same site does).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.embed_django.settings")

from django.core.asgi import get_asgi_application  # Django reads its settings module on import

django_app = get_asgi_application()  # sets Django up before uploads.py imports its auth

from examples.embed_django.uploads import PREFIX, tus_app  # noqa: E402
from tusd_py.http.mount import PrefixDispatch  # noqa: E402

application = PrefixDispatch(PREFIX, tus_app(), django_app)
