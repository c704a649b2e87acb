from django.http import JsonResponse

from .models import ModelVersion, Prediction


def health(request):
    active = ModelVersion.objects.filter(is_active=True).order_by('-trained_at').first()
    return JsonResponse({
        'ok': True,
        'active_model': str(active.uuid) if active else None,
        'predictions': Prediction.objects.count(),
    })
