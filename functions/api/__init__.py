"""The API Lambda behind the function URL (handler: app.lambda_handler)."""
