"""Django's management commands for the example: python -m examples.embed_django.manage <command>."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.embed_django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
