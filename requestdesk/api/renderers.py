from typing import Any

from bson import ObjectId
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder as DRFEncoder


class JSONEncoder(DRFEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, ObjectId):
            return str(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = JSONEncoder
