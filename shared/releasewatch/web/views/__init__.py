"""The board's view models: what each page shows, computed from the store, with no HTML.

Templates lay these out (web/templates/); /api/releases serialises the same objects as JSON.
Every text here is for people: no internal state names, step indexes or flags."""
