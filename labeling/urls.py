from django.urls import path

import labeling.urls_converters  # noqa: F401 -- registers the <id:...> path converter
from labeling.views import home, media

app_name = "labeling"

urlpatterns: list = [
    path("items/<id:pk>/image/", media.item_image, name="item_image"),
]

home_urlpatterns = [path("", home.home, name="home")]
