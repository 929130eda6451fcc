"""The local process (`releasewatch run` and `demo`): runner.py ticks and sleeps until the next
thing is due; loophealth.py keeps whether its ticks and calendar syncs work, for the web
server's /health and board; printer.py is what it prints as it happens; demo.py replays the
incident from DESIGN.md against a loopback page server."""
