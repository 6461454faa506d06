"""kcguard: protect a Python API with Keycloak-issued OAuth 2.0 access tokens.

``kcguard.resource`` is the reusable core (``kcguard.resource.flask`` its
Flask glue); ``kcguard.app`` the demo service; ``kcguard.client``,
``kcguard.admin`` and ``kcguard.devstack`` the token client, the client
administration and the no-Docker launcher.
"""
