"""The backend's operations, with the converters of each embedded model's fields worked out once
per connection: django-mongodb-backend works them out again for every field of every embedded
document read (a page of 20 results: ~330 `get_db_converters` calls, about 1 ms)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model
from django.db.models.expressions import Expression
from django_mongodb_backend.operations import DatabaseOperations

Converter = Callable[[Any, Any, Any], Any]


# django-mongodb-backend ships no types: its operations are Any to mypy.
class Operations(DatabaseOperations):  # type: ignore[misc]
    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self._embedded: dict[type[Model], list[tuple[str, Expression, list[Converter]]]] = {}

    def embedded_converters(self, model: type[Model]) -> list[tuple[str, Expression, list[Converter]]]:
        """(column, expression, converters) of each field of the embedded `model`."""
        found = self._embedded.get(model)
        if found is None:
            found = []
            for field in model._meta.fields:
                expression = Expression(output_field=field)
                converters = self.get_db_converters(expression) + expression.get_db_converters(self.connection)
                found.append((field.column, expression, converters))
            self._embedded[model] = found
        return found

    def convert_embeddedmodelfield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """The backend's conversion (each field's converters on its value), converters cached."""
        if value is not None:
            model = expression.output_field.embedded_model
            for column, field_expression, converters in self.embedded_converters(model):
                if column in value:
                    for converter in converters:
                        value[column] = converter(value[column], field_expression, connection)
        return value
