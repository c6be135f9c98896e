"""Connectors: where a collection's source items come from (WordPress, Shopify). Each
yields SourceItems; knowledge.services.ingest turns them into chunks."""
