"""Services of the content app, by topic."""
