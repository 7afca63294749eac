"""Command-line interface: BIDS-App argument parsing, checks and dispatch to analysis levels."""
