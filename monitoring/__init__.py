"""What a company learns by watching its customers, carried into the rest of the product:
scraped results synced into knowledge, sentiment put into generation, alert rules that turn a
shift in sentiment into notifications, webhooks and tickets, and responding to a result in one
step. The one app that joins scraping, knowledge and content; no other app imports it. It
plugs into them through their registries (content's component registry, knowledge's sync
sources) and scraping's `results_ingested` signal."""
