from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    # Touches neither the database nor Redis: it answers "is this process serving HTTP",
    # so load tests measure the server itself and a slow database doesn't get the process restarted.
    return JsonResponse({"status": "ok"})
