"""WhatsApp numbers: one client per number (its status machine, QR, sending), the supervisor that
health-checks and reconnects them, and the pool that holds them all. Talks to browsers only through engine/."""
