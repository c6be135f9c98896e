"""The shape of what the storage layer hands pymongo: BSON documents (filters, updates,
projections, pipeline stages) as dicts of field name to any BSON value."""

from typing import Any

Document = dict[str, Any]
