from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from labeling.urls import home_urlpatterns
from labeling.urls_reports import dashboard_patterns
from labeling.views import health, login

urlpatterns = [
    *home_urlpatterns,
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
