"""The durable outbox: messages on disk before they are sent, paced per number, retried, acked.

It reaches the numbers only through the Sender protocol (sender.py), so it never imports the engine."""
