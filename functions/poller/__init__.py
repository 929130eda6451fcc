"""The poller Lambda (handler: app.lambda_handler)."""
