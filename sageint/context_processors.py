from django.conf import settings


def sandbox(request):
    return {"sandbox_enabled": settings.SAGE_SANDBOX_ENABLED}
