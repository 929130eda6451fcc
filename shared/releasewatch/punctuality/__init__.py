"""The punctuality record: for every release, whether it went out when announced, with the
evidence (verdicts.py), each producer's summary over a period (summary.py), and the record as
JSON, CSV and Atom (document.py, csv_out.py, atom.py). Nothing in it names a person."""
