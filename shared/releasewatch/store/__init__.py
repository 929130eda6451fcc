"""Stores: where releases, checks, events and deliveries live (SQLite locally, DynamoDB on AWS).

base.py is the port (the Store protocol); memory.py, sqlite.py and dynamodb.py implement it.
dynamodb_table.py creates and reaches the DynamoDB table, dynamodb_items.py encodes its items.
health.py checks the SQLite file at startup and puts a failing tick's exception into words.
"""

from .base import Store

__all__ = ["Store"]
