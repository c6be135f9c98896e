"""What a ticket or a context was opened from (its `links`, e.g. a scraped result), as the
admin shows it: each link's title to the linked object's admin page when the admin has one
for its kind ("<app>.<model>": "admin:<app>_<model>_change", named, not imported), then its
URL."""

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join


def admin_url(link: dict) -> str:
    """The admin change page of the linked object, or "" when there is none."""
    app, _, model = str(link.get("kind", "")).partition(".")
    if not (app and model and link.get("id")):
        return ""
    try:
        return reverse(f"admin:{app}_{model}_change", args=[str(link["id"])])
    except NoReverseMatch:
        return ""


def links_html(links) -> str:
    """A list of `links` (a ticket's or a context's), or "-"."""
    rows = []
    for link in links or []:
        if not isinstance(link, dict):
            continue
        title = link.get("title") or link.get("id") or "-"
        url = admin_url(link)
        name = format_html('<a href="{}">{}</a>', url, title) if url else format_html("{}", title)
        external = (
            format_html(' (<a href="{}" rel="noopener noreferrer">{}</a>)', link["url"], link["url"])
            if _web(link.get("url"))
            else ""
        )
        rows.append((link.get("kind", ""), name, external))
    if not rows:
        return "-"
    return format_html('<ul class="links">{}</ul>', format_html_join("", "<li>{}: {}{}</li>", rows))


def _web(url) -> bool:
    """Only http(s) URLs become links (a scraped URL is outside data)."""
    return isinstance(url, str) and url.startswith(("http://", "https://"))
