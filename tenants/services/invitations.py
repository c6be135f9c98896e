"""Invitations: a company admin invites an address, the invitee chooses a username and
password and joins the company with the invited role.

Usernames and emails are unique across companies, so an admin who could create accounts
would learn from "already taken" that an address or a name exists in another company. With
invitations the admin is told nothing about other companies: inviting an address that
belongs to another company's user answers exactly as inviting a fresh one. The mail tells
the address's owner instead (they know their own account), and that invitation has no usable
token, so it can never be accepted. Only the invitee, choosing a username, is told that a name
is taken, as on any sign-up.

Mail goes out through Django's email backend (the EMAIL_* settings) while the request waits:
an invitation whose mail could not be sent is removed and the caller is told to try again.
Logs name invitations by id, never the address or the token.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import IntegrityError
from django.utils import timezone

from tenants.models import Company, Invitation, User

from .accounts import token_hash

logger = logging.getLogger(__name__)

INVALID = "Invalid or expired invitation."
USERNAME_TAKEN = "This username is not available."


class InvitationError(Exception):
    """An invitation that cannot be made or accepted; `field` names the input at fault
    (None: the invitation itself), the message is safe to show."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MailNotSent(Exception):
    """The invitation's mail could not be handed to the mail server; nothing was kept."""


@dataclass(frozen=True)
class Accepted:
    user: User
    invitation: Invitation


def _account_exists(email: str) -> User | None:
    found: User | None = User.objects.filter(email__iexact=email).first()
    return found


def in_company(company: Company, email: str) -> bool:
    """Whether a user of `company` has this address: the company's own data, fine to say."""
    return User.objects.for_company(company).filter(email__iexact=email).exists()


def invite(*, company: Company, email: str, role: str, invited_by: User) -> Invitation:
    """Invite `email` to `company` with `role` and mail it. A pending invitation of the same
    address to the same company is revoked first: inviting again sends a fresh link.
    Raises MailNotSent (nothing stored) when the mail server does not take the mail."""
    now = timezone.now()
    Invitation.objects.for_company(company).filter(
        email__iexact=email, accepted_at=None, revoked_at=None, expires_at__gt=now
    ).update(revoked_at=now)
    elsewhere = _account_exists(email) is not None
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        company=company,
        email=email,
        role=role,
        # An address with an account elsewhere gets no link: its hash is of a token never sent.
        token_hash=token_hash(secrets.token_urlsafe(32) if elsewhere else token),
        invited_by=invited_by,
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )
    subject, body = _mail(invitation, None if elsewhere else token)
    try:
        send_mail(subject, body, None, [email])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation %s: mail not sent (%s)", invitation.pk, type(exc).__name__)
        invitation.delete()
        raise MailNotSent("The invitation email could not be sent; try again later.") from exc
    return invitation


def _mail(invitation: Invitation, token: str | None) -> tuple[str, str]:
    company = invitation.company.name
    subject = f"Your invitation to {company} on requestdesk"
    if token is None:
        body = (
            f"You were invited to join {company} on requestdesk.\n\n"
            "This address already belongs to a requestdesk account, and an address belongs to one "
            "account only, so this invitation cannot be accepted. If you want to join "
            f"{company}, ask them to invite another of your addresses.\n\n"
            "If you did not expect this mail, you can ignore it."
        )
        return subject, body
    link = settings.INVITATION_ACCEPT_URL.replace("{token}", token)
    body = (
        f"You were invited to join {company} on requestdesk.\n\n"
        f"Choose your username and password here:\n{link}\n\n"
        f"Or post this token to /api/v1/auth/invitations/accept/: {token}\n\n"
        f"The invitation works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this mail, you can ignore it."
    )
    return subject, body


def revoke(invitation: Invitation) -> bool:
    """Revoke a pending invitation; False when it was no longer pending (nothing changed)."""
    if invitation.status != Invitation.PENDING:
        return False
    invitation.revoked_at = timezone.now()
    Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(
        revoked_at=invitation.revoked_at
    )
    return True


def _pending(token: str) -> Invitation:
    invitation: Invitation | None = (
        Invitation.objects.filter(token_hash=token_hash(token)).select_related("company").first()
    )
    if invitation is None or invitation.status != Invitation.PENDING or not invitation.company.is_active:
        raise InvitationError(INVALID)
    return invitation


def accept(*, token: str, username: str, password: str) -> Accepted:
    """Create the invitee's account in the invitation's company with its role, and mark the
    invitation accepted (once: of two accepts racing, one wins)."""
    invitation = _pending(token)
    if _account_exists(invitation.email) is not None:
        raise InvitationError(INVALID)  # the address got an account since: it is not free anymore
    if User.objects.filter(username=username).exists():
        raise InvitationError(USERNAME_TAKEN, field="username")
    user = User(username=username, email=invitation.email, role=invitation.role, company=invitation.company)
    validate_password(password, user)  # Django's ValidationError: the caller shows it on `password`
    user.set_password(password)
    now = timezone.now()
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(accepted_at=now)
    if not claimed:
        raise InvitationError(INVALID)
    try:
        user.save()
    except IntegrityError:  # the name or the address was taken meanwhile: the invitation stays usable
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=None)
        raise InvitationError(USERNAME_TAKEN, field="username")
    invitation.accepted_at = now
    return Accepted(user=user, invitation=invitation)
