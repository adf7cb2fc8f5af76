"""callpact's dialer: campaigns, debtor lists, pacing, scheduling, the Redis store and the CLI."""

__version__ = "0.1.0"
