"""``python -m kcguard.admin``: loads ``.env`` (real variables win), then runs the command line."""

import sys

from dotenv import load_dotenv

from .cli import main

load_dotenv(override=False)
sys.exit(main())
