"""Scraping services, one module per topic:

* fetching   HTTP with the SSRF guard, robots.txt, per-domain rate and concurrency limits,
             retries with backoff, size cap, conditional GET
* extraction articles, JSON-LD reviews, RSS/Atom entries, CSS selectors -> items
* analysis   sentiment (VADER) and the search terms (weighted postings) of a text
* ingest     items -> results: dedupe, sentiment, terms, bulk writes, rollups
* rollups    the daily sentiment rollups the analytics read ($inc at ingest, rebuild)
* jobs       running a scrape job (leases, counters, events, notifications)
* projects   projects, targets, presets and schedules
"""
