"""Readiness, the working day before a release, and the rotas that say who is on call.

policy.py decides when to ask, escalate and give the last call (pure: no I/O, no clock);
confirm.py records a confirm-ready link's one use; config_in.py is `readiness:` as written in
a config; rota.py reads rotas (weekly or iCal) and says who is on call at an instant;
rota_fetch.py reads an iCal rota by URL through the calendar fetcher.
"""
