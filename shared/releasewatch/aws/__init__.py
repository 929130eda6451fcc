"""The AWS side: settings read from the Lambda environment and the per-container composition
of the Watchdog on DynamoDB, SES and SNS. The handlers in functions/ stay two lines long."""
