"""The URLs of one role: the package's apps a trust anchor, a provider or a relying party
serves, plus the harness's registration endpoint on the trust anchor."""
from django.conf import settings
from django.urls import include, path

from . import views

urlpatterns = [path("", include("spid_cie_oidc.entity.urls"))]

if settings.ROLE == "ta":
    urlpatterns += [
        path("", include("spid_cie_oidc.authority.urls")),
        path("_ricevo/register", views.register, name="ricevo_register"),
    ]
elif settings.ROLE == "op":
    urlpatterns += [path("", include("spid_cie_oidc.provider.urls"))]
elif settings.ROLE == "rp":
    urlpatterns += [path("", include("spid_cie_oidc.relying_party.urls"))]
