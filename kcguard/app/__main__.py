"""``python -m kcguard.app openapi``: print the API's OpenAPI document (docs/openapi.json is its output)."""

from __future__ import annotations

import sys

from .openapi import main

if __name__ == "__main__":
    if sys.argv[1:2] != ["openapi"]:
        sys.exit("usage: python -m kcguard.app openapi [--issuer URL]")
    sys.exit(main(sys.argv[2:]))
