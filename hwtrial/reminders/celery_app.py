"""The target of ``celery -A hwtrial.reminders.celery_app …``: builds the service from its
configuration (instance file and ``HWTRIAL_*`` environment) when Celery imports it.

Only Celery's command line imports this module; nothing else in hwtrial does.
"""

from .. import create_app
from .celery_tasks import make_celery

celery = make_celery(create_app())
