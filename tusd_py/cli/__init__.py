"""The `tusd-py` command: a thin layer over Settings and create_app."""
