"""Secrets at rest for the knowledge app (LLM provider keys, Shopify and WordPress
integration keys): the project's field encryption, `requestdesk.crypto`, under the name
this app's code and tests have always used."""

from requestdesk.crypto import (  # noqa: F401
    EncryptionKeyError,
    decrypt,
    encrypt,
    get_secret,
    hint,
    set_secret,
)
