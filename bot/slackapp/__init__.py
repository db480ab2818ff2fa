"""The Slack app: the /techwatch command, subscriptions and feedback buttons (slack-bolt)."""
