"""Webhooks: subscriptions, signed deliveries kept on disk and retried, and the checks on their targets."""
