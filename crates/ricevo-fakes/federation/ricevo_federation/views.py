"""The one view of our own: what the federation's onboarding does once the registry accepted
an entity, in one call, so that tests can register their relying party.

POST /_ricevo/register (trust anchor only), `Authorization: Bearer <token>`, JSON
{"sub": entity id, "jwks": {"keys": [...]} or [...], "type": "openid_relying_party" |
"openid_provider", "name": "..."}: makes the entity an active descendant of the trust anchor
(its federation keys are those the trust anchor vouches for in its subordinate statement) with
the profile of its type, and answers {"trust_mark_id": ..., "trust_mark": JWT} — the trust mark
the entity must show in its entity configuration.
"""
import json
import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from spid_cie_oidc.authority.models import (
    FederationDescendant,
    FederationEntityAssignedProfile,
    FederationEntityProfile,
)
from spid_cie_oidc.entity.models import get_first_self_trust_anchor

logger = logging.getLogger(__name__)

ENTITY_TYPES = ("openid_relying_party", "openid_provider")


def _error(status: int, description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=status)


@csrf_exempt
@require_POST
def register(request):
    token = settings.RICEVO_FED_REGISTER_TOKEN
    if not token or request.headers.get("Authorization") != f"Bearer {token}":
        return _error(401, "a valid bearer token is required")
    try:
        body = json.loads(request.body)
        sub = body["sub"]
        jwks = body["jwks"]
        kind = body.get("type", "openid_relying_party")
    except (ValueError, KeyError, TypeError) as e:
        return _error(400, f"a JSON object with sub and jwks is required: {e}")
    keys = jwks.get("keys") if isinstance(jwks, dict) else jwks
    if not isinstance(sub, str) or not sub.startswith("http") or not isinstance(keys, list) or not keys:
        return _error(400, "sub must be a URL and jwks must hold at least one key")
    if kind not in ENTITY_TYPES:
        return _error(400, f"type must be one of {ENTITY_TYPES}")
    profile = FederationEntityProfile.objects.filter(profile_category=kind).first()
    trust_anchor = get_first_self_trust_anchor()
    with transaction.atomic():
        descendant, _ = FederationDescendant.objects.update_or_create(
            sub=sub,
            defaults=dict(
                name=str(body.get("name") or sub)[:33],
                type=kind,
                jwks=keys,
                is_active=True,
                status="valid",
            ),
        )
        assigned, _ = FederationEntityAssignedProfile.objects.get_or_create(
            descendant=descendant, profile=profile, issuer=trust_anchor
        )
    logger.info(f"Registered {kind} {sub}")
    return JsonResponse(
        {"trust_mark_id": profile.profile_id, "trust_mark": assigned.trust_mark_as_jws}
    )
