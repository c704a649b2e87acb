"""URL configuration for aiproto project."""
from django.contrib import admin
from django.urls import path

from classifier import views

urlpatterns = [
    path('admin/', admin.site.urls),
    path('health/', views.health, name='health'),
]
