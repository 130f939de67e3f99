"""The IAM role a dedicated tenant's pods assume (IAM roles for service accounts, IRSA): trusted only by
the tenant's own service account through the cluster's OIDC provider, allowed only the tenant's own
S3 prefix, queue and secrets.

Trust policy shape: AWS EKS user guide, "Configure a Kubernetes service account to assume an IAM role"
(`sts:AssumeRoleWithWebIdentity`, conditions on `{issuer}:sub` and `{issuer}:aud`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

SERVICE_ACCOUNT = "runtime"
"""The service account the tenant's runtime pods run as (one per tenant namespace)."""


def namespace_of(tenant_id: UUID) -> str:
    """The Kubernetes namespace of a tenant's dedicated runtime (DESIGN §4)."""
    return f"tenant-{tenant_id}"


@dataclass(frozen=True)
class TenantResources:
    """Where a tenant's own AWS resources live: `data_bucket` holds them under `tenants/{id}/`, its queue is
    `cmp-tenant-{id}`, its secrets are named `cmp/tenants/{id}/…`. `database_secret_arn` is the platform
    database's Secrets Manager secret (the application role, whose row-level security confines each
    transaction to the tenant it names), which the runtime pods read their connection settings from;
    empty: none (the local runtime gets `DATABASE_URL` from its environment)."""

    account_id: str
    region: str
    data_bucket: str
    oidc_issuer: str
    """The cluster's OIDC issuer without `https://` (e.g. `oidc.eks.us-east-1.amazonaws.com/id/ABC`)."""
    database_secret_arn: str = ""

    def role_name(self, tenant_id: UUID) -> str:
        """`cmp-tenant-{id}` (47 characters, inside IAM's 64)."""
        return f"cmp-tenant-{tenant_id}"

    def role_arn(self, tenant_id: UUID) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name(tenant_id)}"

    def data_prefix(self, tenant_id: UUID) -> str:
        """The tenant's S3 key prefix (ends with `/`)."""
        return f"tenants/{tenant_id}/"

    def data_location(self, tenant_id: UUID) -> str:
        """`s3://bucket/tenants/{id}/`: what deprovisioning leaves on the subscription record."""
        return f"s3://{self.data_bucket}/{self.data_prefix(tenant_id)}"

    def queue_arn(self, tenant_id: UUID) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:cmp-tenant-{tenant_id}"

    def secrets_arn(self, tenant_id: UUID) -> str:
        """Every secret named `cmp/tenants/{id}/…` (Secrets Manager appends a 6-character suffix)."""
        return f"arn:aws:secretsmanager:{self.region}:{self.account_id}:secret:cmp/tenants/{tenant_id}/*"

    def trust_policy(self, tenant_id: UUID) -> dict[str, Any]:
        """Only the tenant namespace's `runtime` service account may assume the role, for STS."""
        provider = f"arn:aws:iam::{self.account_id}:oidc-provider/{self.oidc_issuer}"
        subject = f"system:serviceaccount:{namespace_of(tenant_id)}:{SERVICE_ACCOUNT}"
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{self.oidc_issuer}:sub": subject,
                            f"{self.oidc_issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }

    def permissions_policy(self, tenant_id: UUID) -> dict[str, Any]:
        """Read/write under the tenant's S3 prefix (listing only that prefix), use of its own queue, reading
        its own secrets and the database secret (`database_secret_arn`, that one ARN, read only); nothing
        else (IAM denies whatever no statement allows)."""
        bucket = f"arn:aws:s3:::{self.data_bucket}"
        prefix = self.data_prefix(tenant_id)
        database = [
            {
                "Sid": "RuntimeDatabase",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": self.database_secret_arn,
            }
        ]
        return {
            "Version": "2012-10-17",
            "Statement": [
                *(database if self.database_secret_arn else []),
                {
                    "Sid": "TenantObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"{bucket}/{prefix}*",
                },
                {
                    "Sid": "TenantListing",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": bucket,
                    "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                },
                {
                    "Sid": "TenantQueue",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:SendMessage",
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    "Resource": self.queue_arn(tenant_id),
                },
                {
                    "Sid": "TenantSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": self.secrets_arn(tenant_id),
                },
            ],
        }
