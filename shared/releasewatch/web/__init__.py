"""The web side shared by the Lambda function URL and (later) the local server: routes only."""
