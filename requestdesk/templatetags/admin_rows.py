"""`{% bounded_result_list cl %}`: Django's `{% result_list cl %}` (the changelist's table) with
its rows from requestdesk.admin_rows (templates/admin/change_list.html uses it)."""

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers, result_hidden_fields
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.views.main import ChangeList

from requestdesk.admin_rows import rows

register = template.Library()


def result_list(cl: ChangeList) -> dict[str, Any]:
    """The context Django's result_list gives its template."""
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for header in headers if header["sortable"] and header["sorted"]),
        "results": list(rows(cl)),
    }


@register.tag(name="bounded_result_list")
def result_list_tag(parser: template.base.Parser, token: template.base.Token) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser, token, func=result_list, template_name="change_list_results.html", takes_context=False
    )
