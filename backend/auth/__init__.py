"""Who may use ZapPool: the admin password, login sessions, API keys, and the command line that manages them."""
