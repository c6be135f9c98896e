"""Conversation search and attachment files.

* conversations.search_terms: the postings of knowledge.selectors.conversation_search (tags, custom
  field values and their words), on the (company_id, search_terms, started_at) index; the
  data step fills them for the stored conversations (idempotent: the same postings again);
* attachments (embedded in messages): key, path, sha256, uploaded_at of files stored in the
  attachments storage (no stored data changes; older attachments keep only their url).
"""

import django_mongodb_backend.fields
from django.db import migrations, models


def fill_postings(apps, schema_editor):
    from knowledge.selectors.conversation_search import postings

    Conversation = apps.get_model("knowledge", "Conversation")
    collection = schema_editor.connection.get_collection(Conversation._meta.db_table)
    for conversation in Conversation.objects.only("pk", "tags", "metadata").iterator():
        collection.update_one({"_id": conversation.pk}, {"$set": {"search_terms": postings(conversation)}})


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0009_soft_delete'),
    ]

    operations = [
        migrations.AddField(
            model_name='attachment',
            name='key',
            field=models.CharField(blank=True, help_text='Names an uploaded file in its download URL.', max_length=32),
        ),
        migrations.AddField(
            model_name='attachment',
            name='path',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='attachment',
            name='sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='attachment',
            name='uploaded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='conversation',
            name='search_terms',
            field=django_mongodb_backend.fields.ArrayField(base_field=models.CharField(max_length=80), blank=True, default=list, editable=False),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(fields=['company', 'search_terms', 'started_at'], name='conv_company_terms_started'),
        ),
        migrations.RunPython(fill_postings, migrations.RunPython.noop, elidable=False),
    ]
