"""The indexes the model Meta cannot express:

* conversations: user_id where it is an ObjectId (a partial index, not a sparse one: the backend
  stores a missing user as null, which a sparse index would still index);
* conversations: a text index on metadata.custom_fields, on servers that have text indexes
  (SecantusDB has none: skipped there);
* messages: {ai_metadata.model, created_at}, a path into the embedded ai_metadata.
"""

from django.db import migrations

from requestdesk.db.migrations import CreateIndex


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        CreateIndex("knowledge.Conversation", [("user_id", 1)], "conv_user_partial",
                    partialFilterExpression={"user_id": {"$type": "objectId"}}),
        CreateIndex("knowledge.Conversation", [("metadata.custom_fields", "text")], "conv_custom_fields_text",
                    skip_unsupported=True),
        CreateIndex("knowledge.Message", [("ai_metadata.model", 1), ("created_at", 1)], "msg_ai_model_created"),
    ]
