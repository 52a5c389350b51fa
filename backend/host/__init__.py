"""What ZapPool needs from the machine it runs on: the data folder, one instance per folder, the log files."""
