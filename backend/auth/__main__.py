"""`python -m backend.auth`: API keys and the admin password from a terminal (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
