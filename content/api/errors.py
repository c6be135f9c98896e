"""How the content API answers the domain's exceptions: a 400 with a field message, or a 429
when the plan's daily quota is spent; never a bare 500."""

from rest_framework.exceptions import APIException, ValidationError

from tenants.services import plans

from ..models.workflow import InvalidTransition
from ..services import batches, campaigns, contexts


class QuotaExceededError(APIException):
    """The company's plan allows no more contexts today: 429, the message names the limit."""

    status_code = 429
    default_code = "quota_exceeded"


class ContentErrorsMixin:
    """Domain exceptions become 400s with a field message; never a bare 500."""

    def handle_exception(self, exc):
        if isinstance(exc, contexts.InvalidPipeline):
            exc = ValidationError({"pipeline": exc.messages})
        elif isinstance(exc, batches.BatchTooLarge):
            exc = ValidationError({"contexts": [str(exc)]})
        elif isinstance(exc, plans.NotAllowed):
            exc = ValidationError(exc.messages)
        elif isinstance(exc, plans.QuotaExceeded):
            exc = QuotaExceededError(str(exc))
        elif isinstance(exc, (contexts.WrongStatus, InvalidTransition)):
            exc = ValidationError({"status": [str(exc)]})
        elif isinstance(exc, campaigns.InvalidDates):
            exc = ValidationError({exc.field: [str(exc)]})
        return super().handle_exception(exc)
