"""The calendar sync Lambda (handler: app.lambda_handler)."""
