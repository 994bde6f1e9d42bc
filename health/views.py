"""/healthz: the process answers. /readyz: what it depends on answers too (JSON, 503 when something fails)."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .checks import CHECKS, run_checks


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """All checks, or those named in `?checks=database,broker` (a load balancer may want only its own)."""
    names = [name for name in request.GET.get("checks", "").split(",") if name] or list(CHECKS)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        return JsonResponse(
            {"error": {"code": "unknown_check", "message": f"Unknown check(s): {', '.join(unknown)}."}},
            status=400,
        )
    results = run_checks(names)
    ok = all(result["ok"] for result in results.values())
    response = JsonResponse({"status": "ok" if ok else "fail", "checks": results}, status=200 if ok else 503)
    # Each failed check is logged once as a warning (checks.py); Django would add an error line per probe.
    response._has_been_logged = True
    return response
