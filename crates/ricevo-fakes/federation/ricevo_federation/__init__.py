"""Ricevo's test federation: spid-cie-oidc's Django apps configured as a trust anchor, an
OpenID provider or a relying party on loopback, one role per process (see harness.py)."""
