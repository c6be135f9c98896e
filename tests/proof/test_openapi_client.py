"""A client generated from /api/v1/schema/ by openapi-python-client works: every one of its
modules imports (before: 43 of 187 failed, because 66 of 67 request bodies were offered as
JSON, form and multipart with one model), and it signs in, lists and creates a ticket
against the project served over loopback."""

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from content.models import Ticket
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "requestdesk_client"
BIN = Path(sys.executable).parent


def _generate(schema: dict, into: Path) -> Path:
    (into / "schema.json").write_text(json.dumps(schema))
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(into / "schema.json"),
            "--output-path",
            str(into / PACKAGE),
            "--meta",
            "none",
        ],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return into


def _import_all(root: Path) -> dict:
    """Every module of the generated package, imported; returns them by name."""
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        modules, failures = {PACKAGE: package}, {}
        for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
            try:
                modules[info.name] = importlib.import_module(info.name)
            except Exception as exc:  # a module that does not import is what this test is for
                failures[info.name] = repr(exc)
        assert not failures, f"{len(failures)} of {len(modules) + len(failures)} modules fail: {failures}"
        return modules
    finally:
        sys.path.remove(str(root))


@pytest.fixture
def generated(tmp_path):
    yield tmp_path
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_the_generated_client_imports_and_signs_in_lists_and_creates_a_ticket(live_server, world, generated):
    schema = httpx.get(f"{live_server.url}/api/v1/schema/?format=json").raise_for_status().json()
    modules = _import_all(_generate(schema, generated))
    assert len(modules) > 150

    client_module = modules[PACKAGE]
    models = modules[f"{PACKAGE}.models"]
    sign_in = modules[f"{PACKAGE}.api.auth.auth_token_create"]
    tickets_list = modules[f"{PACKAGE}.api.content.content_tickets_list"]
    tickets_create = modules[f"{PACKAGE}.api.content.content_tickets_create"]
    user = world.user("a", "content_manager")

    anonymous = client_module.Client(base_url=live_server.url, raise_on_unexpected_status=True)
    refused = sign_in.sync_detailed(
        client=anonymous, body=models.TokenObtainRequest(username=user.username, password="wrong")
    )
    assert refused.status_code == 401
    tokens = sign_in.sync(client=anonymous, body=models.TokenObtainRequest(username=user.username, password=PASSWORD))
    assert isinstance(tokens, models.TokenPair) and tokens.access

    client = client_module.AuthenticatedClient(
        base_url=live_server.url, token=tokens.access, raise_on_unexpected_status=True
    )
    empty = tickets_list.sync(client=client)
    assert empty.results == []

    created = tickets_create.sync(client=client, body=models.TicketRequest(title="From the client", tags=["generated"]))
    assert isinstance(created, models.Ticket) and created.title == "From the client"
    stored = Ticket.objects.get(pk=created.id)
    assert stored.company_id == world.a.pk and stored.tags == ["generated"]

    listed = tickets_list.sync(client=client)
    assert [ticket.id for ticket in listed.results] == [created.id]

    bad = tickets_create.sync(client=client, body=models.TicketRequest(title=""))
    assert isinstance(bad, models.FieldErrors) and "title" in bad.additional_properties
