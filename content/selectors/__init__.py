"""Reads of the content app that are more than a filter, by aggregate: who sees which tickets
(`tickets`), a batch's status summary (`batches`) and a context's processing timeline
(`contexts`)."""
