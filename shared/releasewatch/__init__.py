"""releasewatch: a watchdog for pre-announced official statistics."""

__version__ = "0.1.0"
