from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from . import crypto


@register()
def encryption_keys_are_usable(app_configs, **kwargs):
    try:
        crypto.check_keys()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="Fix SAGEINT_ENCRYPTION_KEYS.", id="connections.E001")]
    return []
