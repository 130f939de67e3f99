"""Plain-text email through Amazon SES (`SendEmail`), from one verified sender address: the workflow email
step's `Mailer` (`cmp.workflows.actions`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cmp.aws.adapters import AwsUnavailable
from cmp.aws.clients import client as default_client
from cmp.workflows.actions import StepFailed


class SesMailer:
    def __init__(self, sender: Callable[[], str], ses: Any = None) -> None:
        self._sender = sender
        self._ses = ses

    def send(self, to: list[str], subject: str, text: str) -> str:
        """Send; returns SES's message id. Raises StepFailed (`Email.Rejected`: SES refused the message, e.g.
        an unverified sender or a bad address), AwsUnavailable (SES unreachable, the queue retries)."""
        ses = self._ses or default_client("ses")
        try:
            out = ses.send_email(
                Source=self._sender(),
                Destination={"ToAddresses": to},
                Message={
                    "Subject": {"Data": subject[:998], "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
                },
            )
        except ClientError as e:
            if e.response["Error"]["Code"] in ("MessageRejected", "InvalidParameterValue"):
                raise StepFailed("Email.Rejected", e.response["Error"].get("Message", "rejected")) from e
            raise AwsUnavailable("SES could not send the email") from e
        except BotoCoreError as e:
            raise AwsUnavailable("SES could not send the email") from e
        return str(out["MessageId"])
