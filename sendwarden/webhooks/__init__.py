"""Signed event webhooks (Standard Webhooks) from a transactional outbox.

emit/outbox write events in the transaction of the change they describe; the
dispatcher fans them out to endpoints and delivers them; signing and ssrf
guard every delivery; endpoints holds what the API and the CLI do.
"""
