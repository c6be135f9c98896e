"""The tenants admin: the base every app's admin takes its querysets from (`base`), the admin
pages of companies, users and keys (`accounts`), admin permissions from roles
(`permissions`) and admin sign-in with Google or GitHub (`oauth`)."""

from . import accounts  # noqa: F401  (registers the model admins)
