"""Webhooks: customers subscribe a URL; mint and redemption status changes are delivered to it,
signed per the Standard Webhooks spec, with retries, exponential backoff and a delivery log."""
