from django.urls import path

from agents import views

app_name = "agents"
urlpatterns = [
    path("tools", views.tools_view, name="tools"),
    path("tools/<str:name>", views.tool_call_view, name="tool_call"),
]
