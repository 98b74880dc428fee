"""The file `streamlit run` is given: put the project on the path and draw the page.

Streamlit runs this file as a script on every rerun, so it stays a few lines; the page itself
is `dashboard.ui.page`, imported once per server process.
"""

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ (not the project root) on sys.path.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard.ui.page import main  # noqa: E402

main()
