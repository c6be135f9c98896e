"""Scraping services, one module per topic:

* fetching   HTTP with the SSRF guard, robots.txt, per-domain rate and concurrency limits,
             retries with backoff, size cap, conditional GET
* items      what extraction produces (Item), its error, date and whitespace readers
* extraction articles (trafilatura), JSON-LD reviews, CSS selectors -> items; feed links followed
* feeds      RSS 0.9x/1.0/2.0 and Atom (feedparser), JSON Feed -> items
* analysis   sentiment (VADER, per result and per sentence, `mixed`) and the search postings
* llm_sentiment  sentiment by the company's LLM provider (a project's `sentiment: llm`)
* ingest     items -> results: dedupe, changed items updated in place, sentiment, terms, bulk writes,
             rollups; reindex
* item_keys  keying results stored before item keys, merging the versions of a url (migration 0010)
* rollups    the daily sentiment rollups the analytics read ($inc at ingest, rebuild)
* jobs       running a scrape job (leases, counters, events, notifications)
* projects   projects, targets, presets and schedules
"""
