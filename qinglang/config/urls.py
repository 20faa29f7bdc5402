from django.contrib import admin
from django.urls import include, path

from .api import api

admin.site.site_header = "清朗 · 后台管理"
admin.site.site_title = "清朗后台"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("qinglang.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("qinglang.portal.urls")),
]
