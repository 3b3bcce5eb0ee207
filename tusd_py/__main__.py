"""`python -m tusd_py` is the `tusd-py` command."""

from tusd_py.cli.main import main

raise SystemExit(main())
