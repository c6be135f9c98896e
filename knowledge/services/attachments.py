"""Message attachments kept as files in the `attachments` storage of STORAGES (a directory,
or an S3-compatible bucket: see settings), with their metadata on the message.

A file is stored as "conversations/<company id>/<conversation id>/<key>-<name>", so deleting
a conversation removes its folder (remove_conversation_files, called on the conversation's
post_delete). The type is sniffed from the first bytes (SIGNATURES, or UTF-8 text without
NUL bytes); a file of any other kind, or whose declared type names another kind, is refused.
The message gets {key, name, type, size, sha256, path, url, uploaded_at} by an atomic $push,
so concurrent uploads to one message keep each other's entries.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from requestdesk.db.collections import raw

from ..models import Attachment, Message

ALIAS = "attachments"
ROOT = "conversations"
MAX_PER_MESSAGE = 20
GENERIC = {"", "application/octet-stream"}
TEXT_TYPES = {"text/plain", "text/csv", "text/markdown", "application/json"}
# (offset, bytes, type); WEBP, WAV and MP4 are checked further in sniff()
SIGNATURES = [
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
]
ACCEPTED = sorted({kind for _, _, kind in SIGNATURES} | {"image/webp", "audio/wav", "video/mp4"} | TEXT_TYPES)
_UNSAFE = re.compile(r"[^\w.\-]+")


class AttachmentRefused(ValueError):
    """The upload is refused: `field` names the request field, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def storage():
    return storages[ALIAS]


def sniff(head: bytes) -> str | None:
    """The accepted type the first bytes of a file show, or None."""
    for offset, signature, kind in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # not just a character cut at the end of the head
                return None
        return "text/plain"
    return None


def _type(declared: str, found: str | None) -> str:
    declared = (declared or "").split(";")[0].strip().lower()
    if found is None:
        raise AttachmentRefused("file", f"This kind of file is not accepted; send one of: {', '.join(ACCEPTED)}.")
    if found == "text/plain" and declared in TEXT_TYPES:
        return declared
    if declared not in GENERIC and declared != found:
        raise AttachmentRefused("file", f"The file's content is {found}, not {declared} as declared.")
    return found


def safe_name(name: str) -> str:
    base = _UNSAFE.sub("-", posixpath.basename((name or "").replace("\\", "/"))).strip(".-")
    return base[-100:] or "file"


def folder(conversation) -> str:
    return f"{ROOT}/{conversation.company_id}/{conversation.pk}"


def download_url(message, key: str) -> str:
    return f"/api/v1/knowledge/messages/{message.pk}/attachments/?key={key}"


def attach(*, message: Message, upload) -> Attachment:
    """Store `upload` (an UploadedFile) for `message`; AttachmentRefused on a bad file."""
    limit = settings.KNOWLEDGE_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise AttachmentRefused("file", f"The file is larger than {limit} bytes.")
    if upload.size == 0:
        raise AttachmentRefused("file", "The file is empty.")
    if len(message.attachments or ()) >= MAX_PER_MESSAGE:
        raise AttachmentRefused("file", f"A message holds at most {MAX_PER_MESSAGE} attachments.")
    data = upload.read()
    kind = _type(getattr(upload, "content_type", ""), sniff(data[:512]))
    key = secrets.token_hex(8)
    name = safe_name(upload.name)
    path = storage().save(f"{folder(message.conversation)}/{key}-{name}", ContentFile(data))
    given = posixpath.basename((upload.name or "").replace("\\", "/")).strip()
    attachment = Attachment(
        key=key,
        name=(given or name)[:255],
        type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path=path,
        url=download_url(message, key),
        uploaded_at=timezone.now(),
    )
    document = {f.column: getattr(attachment, f.attname) for f in Attachment._meta.fields}
    raw(Message, company=message.company_id).update_one(
        {"_id": message.pk}, {"$push": {Message._meta.get_field("attachments").column: document}}
    )
    message.refresh_from_db(fields=["attachments"])
    return attachment


def find(message: Message, key: str) -> Attachment | None:
    return next((item for item in message.attachments or () if item.key and item.key == key and item.path), None)


def open_file(attachment: Attachment):
    return storage().open(attachment.path, "rb")


def remove_conversation_files(conversation) -> int:
    """Delete every stored file of `conversation`; returns how many."""
    removed = 0
    base = folder(conversation)
    try:
        _, files = storage().listdir(base)
    except FileNotFoundError:  # a directory storage: nothing was ever stored here
        return 0
    for name in files:
        storage().delete(f"{base}/{name}")
        removed += 1
    return removed
