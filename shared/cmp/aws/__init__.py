"""Small typed adapters over boto3. Every client comes from `cmp.aws.clients.new_client`: moto, LocalStack
(`CMP_AWS=localstack`) or AWS."""
