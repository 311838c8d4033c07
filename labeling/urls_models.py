"""Routes of the model page (``models:list``, ``models:train``)."""

from django.urls import path

from labeling.views import models

app_name = "models"

urlpatterns = [
    path("", models.model_list, name="list"),
    path("train/", models.model_train, name="train"),
]
