"""Calendar sources: official release calendars imported as releases (`releasewatch sync`).

One module per source (govuk, ons, csv_source, ics_source), each a pure parser from feed bytes to
Announcements plus a located Skipped reason per bad entry; fetch.py is the guarded, bounded
HTTP client they share; spec.py holds their config models; sync.py plans and applies a sync.
"""
