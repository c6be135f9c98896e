"""The Atlas Vector Search index on knowledge_chunks.embedding (cosine, filtered by company
and collection), created only where Atlas Search exists. Its size is
KNOWLEDGE_VECTOR_INDEX_DIMENSIONS (384: all-MiniLM-L6-v2); collections of another size are
searched by exact kNN (knowledge.services.vectors). Elsewhere this migration does nothing."""

from django.conf import settings
from django.db import migrations

INDEX = "knowledge_chunks_vector"


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if not connection.features.supports_atlas_search:
        return
    from pymongo.operations import SearchIndexModel

    collection = connection.get_collection(apps.get_model("knowledge.KnowledgeChunk")._meta.db_table)
    if any(index["name"] == INDEX for index in collection.list_search_indexes()):
        return
    collection.create_search_index(SearchIndexModel(name=INDEX, type="vectorSearch", definition={"fields": [
        {"type": "vector", "path": "embedding", "numDimensions": settings.KNOWLEDGE_VECTOR_INDEX_DIMENSIONS,
         "similarity": "cosine"},
        {"type": "filter", "path": "company_id"},
        {"type": "filter", "path": "collection_id"},
    ]}))


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.features.supports_atlas_search:
        collection = connection.get_collection(apps.get_model("knowledge.KnowledgeChunk")._meta.db_table)
        if any(index["name"] == INDEX for index in collection.list_search_indexes()):
            collection.drop_search_index(INDEX)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_raw_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
