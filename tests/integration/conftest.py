"""Shared integration constants (the `aws` fixture, moto with fake credentials, is in
tests/conftest.py for every test folder)."""

from __future__ import annotations

REGION = "eu-west-2"
