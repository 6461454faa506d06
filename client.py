"""Call the API with a client-credentials token from Keycloak: ``python client.py --help``."""

import sys

from dotenv import load_dotenv

from kcguard.client.cli import main

if __name__ == "__main__":
    load_dotenv(override=False)
    sys.exit(main())
