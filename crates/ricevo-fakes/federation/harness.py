#!/usr/bin/env python3
"""Runs one entity of Ricevo's local test federation on 127.0.0.1, built from spid-cie-oidc's
Django apps: a trust anchor (--role ta), an OpenID provider (--role op, SPID or CIE profile), or
the package's own relying party (--role rp).

On first start in --dir it creates the SQLite database, the entity's keys (RSA: one federation
key; for a provider one OIDC signing key; for a relying party one OIDC signing and one
encryption key) and its entity configuration; a provider also gets the test citizen. A provider
or relying party then registers at the trust anchor (through the trust anchor's
/_ricevo/register, the token in RICEVO_FED_REGISTER_TOKEN) and shows the trust mark it gets,
unless --unregistered (a provider the trust anchor does not know). It writes --dir/entity.json
(its entity id and public federation keys) and serves until killed.

Entity ids are "http://127.0.0.1:PORT", without a final "/", as the federation's real ones.

Example: harness.py --role ta --port 8000 --dir /tmp/ta --trust-anchor http://127.0.0.1:8000
"""
import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The citizen every provider knows, with the attributes SPID and CIE release (under the names
# of both profiles: SPID's "https://attributes.eid.gov.it/..." and CIE's plain ones).
CITIZEN = {
    "username": "mario.rossi",
    "password": "ricevo-test-Password-1",
    "given_name": "Mario",
    "family_name": "Rossi",
    "fiscal_number": "TINIT-RSSMRA85T10A562S",
    "email": "mario.rossi@example.it",
    "phone_number": "+393331234567",
}

SIG_ALGS = ["RS256", "RS384", "RS512"]
ENC_ALGS = ["RSA-OAEP", "RSA-OAEP-256"]
ENC_ENCS = ["A128CBC-HS256", "A256CBC-HS512"]
ACRS = [
    "https://www.spid.gov.it/SpidL1",
    "https://www.spid.gov.it/SpidL2",
    "https://www.spid.gov.it/SpidL3",
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--role", choices=["ta", "op", "rp"], required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--trust-anchor", required=True, help="the trust anchor's entity id")
    p.add_argument("--profile", choices=["spid", "cie"], default="spid")
    p.add_argument("--name", default="")
    p.add_argument("--unregistered", action="store_true", help="do not register at the trust anchor")
    p.add_argument(
        "--forge-tokens",
        action="store_true",
        help="OP only: publish an OIDC key other than the one it signs with (same kid), so that "
        "every ID token and userinfo it issues fails signature verification",
    )
    p.add_argument("--providers", default="{}", help='RP only: JSON {"spid": [op, ...], "cie": [...]}')
    return p.parse_args()


def with_use(jwk: dict, use: str) -> dict:
    jwk = dict(jwk)
    jwk["use"] = use
    return jwk


def public_keys(jwks: list) -> list:
    from spid_cie_oidc.entity.jwks import public_jwk_from_private_jwk

    out = []
    for k in jwks:
        pub = public_jwk_from_private_jwk(k)
        if k.get("use"):
            pub["use"] = k["use"]
        out.append(pub)
    return out


def federation_entity_metadata(entity: str, name: str, authority: bool) -> dict:
    md = {
        "organization_name": name,
        "homepage_uri": entity,
        "contacts": ["ops@example.it"],
        "federation_resolve_endpoint": f"{entity}/resolve",
    }
    if authority:
        md.update(
            federation_fetch_endpoint=f"{entity}/fetch",
            federation_list_endpoint=f"{entity}/list",
            federation_trust_mark_status_endpoint=f"{entity}/trust_mark_status",
        )
    return md


def bootstrap_ta(args, entity: str):
    from django.conf import settings
    from spid_cie_oidc.authority.models import FederationEntityProfile
    from spid_cie_oidc.entity.models import FederationEntityConfiguration

    conf = FederationEntityConfiguration.objects.create(
        sub=entity,
        entity_type="federation_entity",
        metadata={"federation_entity": federation_entity_metadata(entity, args.name or "Ricevo test trust anchor", True)},
        trust_mark_issuers={settings.TRUST_MARK_RP: [entity], settings.TRUST_MARK_OP: [entity]},
        constraints={"max_path_length": 1},
        is_active=True,
    )
    for category, profile_id, name in (
        ("openid_relying_party", settings.TRUST_MARK_RP, "public RP"),
        ("openid_provider", settings.TRUST_MARK_OP, "public OP"),
    ):
        FederationEntityProfile.objects.create(
            name=name,
            profile_category=category,
            profile_id=profile_id,
            trust_mark_template={
                "organization_type": "public",
                "id_code": "c_h501",
                "email": "ops@example.it",
                "organization_name": "Ricevo test",
                "ref": entity,
            },
        )
    return conf


def bootstrap_op(args, entity: str):
    from django.contrib.auth import get_user_model
    from spid_cie_oidc.entity.jwks import create_jwk
    from spid_cie_oidc.entity.models import FederationEntityConfiguration

    core = [with_use(create_jwk(), "sig")]
    published = public_keys(core)
    if args.forge_tokens:
        # Another key under the signing key's kid: the provider's signatures cannot verify.
        other = public_keys([with_use(create_jwk(), "sig")])[0]
        other["kid"] = core[0]["kid"]
        published = [other]
    op = f"{entity}/oidc/op/"
    name = args.name or f"Ricevo test {args.profile.upper()} provider"
    metadata = {
        "openid_provider": {
            "organization_name": name,
            "op_name": name,
            "op_uri": entity,
            "issuer": entity,
            "authorization_endpoint": f"{op}authorization",
            "token_endpoint": f"{op}token",
            "userinfo_endpoint": f"{op}userinfo",
            "introspection_endpoint": f"{op}introspection",
            "revocation_endpoint": f"{op}revocation",
            "jwks": {"keys": published},
            "scopes_supported": ["openid", "offline_access", "profile", "email"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "acr_values_supported": ACRS,
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": SIG_ALGS,
            "id_token_encryption_alg_values_supported": ENC_ALGS,
            "id_token_encryption_enc_values_supported": ENC_ENCS,
            "userinfo_signing_alg_values_supported": SIG_ALGS,
            "userinfo_encryption_alg_values_supported": ENC_ALGS,
            "userinfo_encryption_enc_values_supported": ENC_ENCS,
            "request_object_signing_alg_values_supported": SIG_ALGS,
            "request_object_encryption_alg_values_supported": ENC_ALGS,
            "request_object_encryption_enc_values_supported": ENC_ENCS,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": SIG_ALGS,
            "claims_parameter_supported": True,
            "request_parameter_supported": True,
            "authorization_response_iss_parameter_supported": True,
            "tls_client_certificate_bound_access_tokens": False,
            "claims_supported": [
                "given_name",
                "family_name",
                "email",
                "phone_number",
                "https://attributes.eid.gov.it/fiscal_number",
            ],
        },
        "federation_entity": federation_entity_metadata(entity, name, False),
    }
    conf = FederationEntityConfiguration.objects.create(
        sub=entity,
        entity_type="openid_provider",
        authority_hints=[args.trust_anchor],
        jwks_core=core,
        metadata=metadata,
        is_active=True,
    )
    user = get_user_model().objects.create_user(
        username=CITIZEN["username"],
        password=CITIZEN["password"],
        email=CITIZEN["email"],
        first_name=CITIZEN["given_name"],
        last_name=CITIZEN["family_name"],
    )
    user.attributes = {
        "given_name": CITIZEN["given_name"],
        "family_name": CITIZEN["family_name"],
        "email": CITIZEN["email"],
        "phone_number": CITIZEN["phone_number"],
        "https://attributes.eid.gov.it/phone_number": CITIZEN["phone_number"],
        "https://attributes.eid.gov.it/fiscal_number": CITIZEN["fiscal_number"],
        "fiscal_number": CITIZEN["fiscal_number"],
    }
    user.save()
    return conf


def bootstrap_rp(args, entity: str):
    from spid_cie_oidc.entity.jwks import create_jwk
    from spid_cie_oidc.entity.models import FederationEntityConfiguration

    core = [with_use(create_jwk(), "sig"), with_use(create_jwk(), "enc")]
    name = args.name or "Relying party of spid-cie-oidc"
    metadata = {
        "openid_relying_party": {
            "application_type": "web",
            "client_id": entity,
            "client_registration_types": ["automatic"],
            "client_name": name,
            "organization_name": name,
            "contacts": ["ops@example.it"],
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [f"{entity}/oidc/rp/callback"],
            "response_types": ["code"],
            "scope": ["openid"],
            "subject_type": "pairwise",
            "jwks": {"keys": public_keys(core)},
            "id_token_signed_response_alg": "RS256",
            "userinfo_signed_response_alg": "RS256",
            "userinfo_encrypted_response_alg": "RSA-OAEP",
            "userinfo_encrypted_response_enc": "A256CBC-HS512",
            "token_endpoint_auth_method": "private_key_jwt",
        },
        "federation_entity": federation_entity_metadata(entity, name, False),
    }
    return FederationEntityConfiguration.objects.create(
        sub=entity,
        entity_type="openid_relying_party",
        authority_hints=[args.trust_anchor],
        jwks_core=core,
        metadata=metadata,
        is_active=True,
    )


def register(args, conf, kind: str):
    """Registers this entity at the trust anchor and shows the trust mark it gets."""
    body = json.dumps(
        {"sub": conf.sub, "jwks": {"keys": conf.public_jwks}, "type": kind, "name": args.name or conf.sub}
    ).encode()
    req = urllib.request.Request(
        f"{args.trust_anchor}/_ricevo/register",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {os.environ.get('RICEVO_FED_REGISTER_TOKEN', '')}",
        },
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=20) as res:  # nosec B310: our own loopback URL
        answer = json.loads(res.read())
    conf.trust_marks = [
        {"id": answer["trust_mark_id"], "trust_mark_type": answer["trust_mark_id"], "trust_mark": answer["trust_mark"]}
    ]
    conf.save()


def exit_with_parent():
    """Ends this process when the one that started it (the test) is gone, even if it was killed
    before it could stop us."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    args = parse_args()
    exit_with_parent()
    data = Path(args.dir)
    data.mkdir(parents=True, exist_ok=True)
    entity = f"http://127.0.0.1:{args.port}"
    if args.trust_anchor.endswith("/"):
        sys.exit("--trust-anchor is an entity id without a final /")
    os.environ.update(
        RICEVO_FED_ROLE=args.role,
        RICEVO_FED_ENTITY=entity,
        RICEVO_FED_TRUST_ANCHOR=args.trust_anchor,
        RICEVO_FED_PROFILE=args.profile,
        RICEVO_FED_DIR=str(data),
        RICEVO_FED_PROVIDERS=args.providers,
        DJANGO_SETTINGS_MODULE="ricevo_federation.settings",
    )
    sys.path.insert(0, str(HERE))
    import django

    django.setup()
    from django.core.management import call_command
    from spid_cie_oidc.entity.models import FederationEntityConfiguration

    call_command("migrate", verbosity=0, interactive=False)
    conf = FederationEntityConfiguration.objects.filter(sub=entity, is_active=True).first()
    if conf is None:
        conf = {"ta": bootstrap_ta, "op": bootstrap_op, "rp": bootstrap_rp}[args.role](args, entity)
        if args.role != "ta" and not args.unregistered:
            register(args, conf, "openid_provider" if args.role == "op" else "openid_relying_party")
    (data / "entity.json").write_text(
        json.dumps({"entity_id": entity, "jwks": {"keys": conf.public_jwks}, "citizen": CITIZEN})
    )
    print(f"ricevo-federation: {args.role} {entity} ready to serve", flush=True)
    call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False, use_threading=True, skip_checks=True)


if __name__ == "__main__":
    main()
