"""The tutorial pattern this project replaces, as a benchmark peer: do not copy it.

Flask + Authlib's ResourceProtector with the key set fetched once at import
and only ``exp`` and ``iss`` checked (no audience, no token type, keys never
refreshed), as in the common Flask/Authlib API tutorials. It runs in its own
virtual environment (``requirements-tutorial.txt``), pinned to the last
Authlib on which this code still answers 200: from Authlib 1.7 on the
validator is built on joserfc and refuses the legacy ``JsonWebKey`` key set.

    ISSUER=http://127.0.0.1:8080/realms/myorg gunicorn tutorial_server:app
"""

import json
import os
from urllib.request import urlopen

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.jose.rfc7517.jwk import JsonWebKey
from authlib.oauth2.rfc7523 import JWTBearerTokenValidator
from flask import Flask, jsonify

ISSUER = os.environ["ISSUER"]


class ClientCredsTokenValidator(JWTBearerTokenValidator):
    def __init__(self, issuer):
        with urlopen(f"{issuer}/protocol/openid-connect/certs", timeout=10) as response:  # noqa: S310
            public_key = JsonWebKey.import_key_set(json.loads(response.read()))
        super().__init__(public_key)
        self.claims_options = {
            "exp": {"essential": True},
            "iss": {"essential": True, "value": issuer},
        }


require_auth = ResourceProtector()
require_auth.register_token_validator(ClientCredsTokenValidator(ISSUER))

app = Flask(__name__)


@app.route("/api/public")
def public():
    return jsonify(message="Hello from a public endpoint! You don't need to be authenticated to see this.")


@app.route("/api/private")
@require_auth(None)
def private():
    return jsonify(message="Hello from a private endpoint! You need to be authenticated to see this.")


@app.route("/api/private-scoped")
@require_auth("test_api_access")
def private_scoped():
    return jsonify(
        message="Hello from a private endpoint! You need to be authenticated and have a scope of "
        "test_api_access to see this."
    )
