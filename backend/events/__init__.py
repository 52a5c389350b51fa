"""Events: the hub that delivers a client's events, the lifecycle of outgoing messages, and the numbered bus
that streams and resumes them (SSE, the desktop windows)."""
