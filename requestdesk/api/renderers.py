from bson import ObjectId
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder as DRFEncoder


class JSONEncoder(DRFEncoder):
    def default(self, obj):
        if isinstance(obj, ObjectId):
            return str(obj)
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = JSONEncoder
