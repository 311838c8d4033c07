from django.urls import path

from labeling.views import home

app_name = "labeling"

urlpatterns: list = []

home_urlpatterns = [path("", home.home, name="home")]
