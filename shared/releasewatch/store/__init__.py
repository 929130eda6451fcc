"""Stores: where releases, checks, events and deliveries live (SQLite locally, DynamoDB on AWS)."""

from .base import Store

__all__ = ["Store"]
