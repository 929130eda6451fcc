"""Acknowledging an alert, which holds the chain's later steps: by_link.py (the signed link in
an email or text: look, then acknowledge, once) and by_reply.py (a text "ACK 4821" to GOV.UK
Notify's reply number). Both record the one ACKNOWLEDGED event through by_link.record_ack."""
