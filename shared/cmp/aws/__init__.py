"""Small typed adapters over boto3. Every client honours AWS_ENDPOINT_URL (moto, LocalStack or AWS)."""
