from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.public_home, name="public_home"),
    path("home/", views.home, name="home"),
]
