"""Delivery of digests: to the terminal here; Slack delivery builds on the same Digest."""
