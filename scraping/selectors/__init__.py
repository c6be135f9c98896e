"""Reads of the scraping app that are more than a filter: the weighted results search
(`search`) and the sentiment analytics (`analytics`)."""
