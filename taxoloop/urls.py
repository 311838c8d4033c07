from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView

from labeling.urls import home_urlpatterns
from labeling.urls_reports import dashboard_patterns
from labeling.views import health, login

# A 400 page that names the parameter at fault (labeling.views.params.BadParameter).
handler400 = "labeling.views.errors.bad_request"

# Browsers ask for /favicon.ico on every page that names no icon (the API's JSON, the admin):
# send them to the static file. Not permanent, and read on the first request (lazy): the
# static URL depends on the storage.
favicon = RedirectView.as_view(
    url=lazy(static, str)("favicon.ico"), http_method_names=["get", "head"]
)

urlpatterns = [
    *home_urlpatterns,
    path("favicon.ico", cache_control(max_age=86400, public=True)(favicon), name="favicon"),
    path("health/", health.health, name="health"),
    path("login/", login.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("labeling.api.urls")),
    path("models/", include("labeling.urls_models")),
    path("review/", include("labeling.urls_review")),
    path("taxonomy/", include("labeling.urls_taxonomy")),
    path("reports/", include("labeling.urls_reports")),
    path("dashboard/", include(dashboard_patterns)),
    path("", include("labeling.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
