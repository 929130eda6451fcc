"""The web side, shared by the API Lambda (function URL) and the local server: the board
(views/ computes each page's view model, templates/ lays it out), acknowledge and confirm
links, health; app.WebApp answers them all, function_url.py routes them on AWS and
local_server.py serves them locally. Every page and JSON answer leaves through scrub.py."""
