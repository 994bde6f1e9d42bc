from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render


def home(request):
    return render(request, "home.html")


def csrf_failure(request, reason: str = ""):
    """The branded CSRF-failure page (CSRF_FAILURE_VIEW): Django's own view gives its template no reason.

    The reason is told only as "cookies missing" or not; the rest of Django's wording is for developers.
    """
    return render(request, "403_csrf.html", {"cookies_missing": reason == REASON_NO_CSRF_COOKIE}, status=403)
