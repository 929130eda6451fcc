"""The signed links in messages and on the board: tokens.py (the packed, signed, expiring token
an acknowledge, confirm-ready or dashboard link carries), single_use.py (a token used once,
guarded in the store like every message) and urls.py (where a message points people)."""
