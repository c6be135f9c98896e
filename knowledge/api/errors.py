"""How the knowledge app's failures read in the API."""

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from ..services.connectors.base import ConnectorError
from ..services.crypto import EncryptionKeyError
from ..services.embeddings import DimensionMismatch
from ..services.extract import UnsupportedUpload
from ..services.llm import ProviderError
from ..services.sync import NotSyncable

# A chat or embedding provider failure: a bad gateway, a gateway timeout, or a missing
# dependency (no provider, deleted agent); secrets that cannot be decrypted: a server error.
PROVIDER_STATUS = {
    "timeout": status.HTTP_504_GATEWAY_TIMEOUT,
    "configuration": status.HTTP_424_FAILED_DEPENDENCY,
    "encryption": status.HTTP_500_INTERNAL_SERVER_ERROR,
}


def provider_status(error: ProviderError) -> int:
    return PROVIDER_STATUS.get(error.kind, status.HTTP_502_BAD_GATEWAY)


class SecretsUnavailable(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "encryption_key_error"


class ProviderFailed(APIException):
    default_code = "provider_error"

    def __init__(self, error: ProviderError):
        super().__init__(str(error))
        self.status_code = provider_status(error)


class KnowledgeErrorsMixin:
    """Domain exceptions become API errors with a clear detail; never a bare 500."""

    def handle_exception(self, exc):
        if isinstance(exc, EncryptionKeyError):
            exc = SecretsUnavailable(str(exc))
        elif isinstance(exc, ProviderError):
            exc = SecretsUnavailable(str(exc)) if exc.kind == "encryption" else ProviderFailed(exc)
        elif isinstance(exc, (NotSyncable, ConnectorError, DimensionMismatch)):
            exc = ValidationError({"detail": str(exc)})
        elif isinstance(exc, UnsupportedUpload):
            exc = ValidationError({"file": [str(exc)]})
        return super().handle_exception(exc)
