from django.urls import path

from labeling.views import home, media

app_name = "labeling"

urlpatterns: list = [
    path("items/<int:pk>/image/", media.item_image, name="item_image"),
]

home_urlpatterns = [path("", home.home, name="home")]
