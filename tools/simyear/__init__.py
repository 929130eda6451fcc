"""A simulated year of the UK statistical system, replayed through the watchdog (issue 21).

year.py     the seeded year: releases, producers, due times and fates (assumptions stated there)
clock.py    the simulated clock the watchdog and the origins share (across processes)
origins.py  what each release's page serves at a simulated time: loopback GOV.UK-like and
            ONS-like origin servers, and an in-process prober for the quiet days
local.py    the year through the local watchdog into a SQLite store; the peak morning in full
aws.py      the peak morning through the AWS poller on moto (in process), and the month's cost

Run: `make year` (YEAR_ARGS="--scale 0.1" for a smaller year), or
`python -m tools.simyear --help`. docs/simulated-year.md describes it.
"""
