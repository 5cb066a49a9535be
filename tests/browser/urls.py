"""The site's URLconf, with photos served from MEDIA_ROOT as a test sets it.

photobox.urls binds the media folder when it is imported; the browser tests store each test's
photos in a temporary folder and need the live server to serve them from there.
"""

from django.conf import settings
from django.urls import re_path

from core import views
from photobox.urls import urlpatterns as site_urlpatterns

urlpatterns = [re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$", views.media), *site_urlpatterns]
