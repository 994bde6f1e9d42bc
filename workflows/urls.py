from django.urls import path

from workflows import api_views

app_name = "workflows_api"
urlpatterns = [
    path("workflows/<int:workflow_id>/runs", api_views.start_run, name="start_run"),
    path("workflows/runs/<int:run_id>", api_views.run_status, name="run"),
    path("events", api_views.send_event, name="events"),
]
