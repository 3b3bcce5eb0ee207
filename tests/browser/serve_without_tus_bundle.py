"""`python -m tests.browser.serve_without_tus_bundle serve …`: the real `tusd-py serve`, as if npm never ran."""

from __future__ import annotations

import sys
from pathlib import Path

from tusd_py.cli.main import main
from tusd_py.demo import page

if __name__ == "__main__":
    page.TUS_BUNDLE = Path(__file__).parent / "no-node-modules" / "tus-js-client" / "dist" / "tus.min.js"
    sys.exit(main(sys.argv[1:]))
