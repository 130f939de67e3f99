"""API Gateway REQUEST authorizer of the runtime routes: accepts an API key, a widget token (checked against
the request's Origin) or a portal JWT of the subscription's buyer, and passes the `RuntimeContext` on. A
read-only route of a subscription's history (`cmp.gateway.authorization.READ_ONLY_ROUTES`) accepts it in
any status; every other route only a callable subscription.

A refused credential is let through carrying its refusal instead of a context (`Refused.to_authorizer`):
API Gateway's own 401/403 answers cannot say why, so the route's `runtime_context` dependency raises the
refusal (its status, code and message, docs/gateway.md "Refusals") before the route body runs."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.errors import DomainError
from cmp.gateway.authorization import is_read_only, owned_in_path, route_scope
from cmp.gateway.errors import CredentialMissing, Refused
from cmp.observability import instruments
from cmp.web.authorizer import allow_all, header, runtime_credential

logger, metrics = instruments("runtime-authorizer")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    credential = runtime_credential(event)
    path = event.get("pathParameters") or {}
    try:
        if credential is None:
            raise CredentialMissing()
        token, sent_in = credential
        runtime = services.runtime_authorizer.authorize(
            token,
            header(event, "origin"),
            path.get("subscription_id"),
            owned_in_path(path),
            read_only=is_read_only(event.get("httpMethod"), event.get("resource")),
            header=sent_in,
            scope=route_scope(event.get("httpMethod"), event.get("resource")),
        )
    except DomainError as e:
        logger.info("call refused", extra={"reason": e.code, "status": e.status})
        return allow_all(event, "refused", Refused.to_authorizer(e))
    logger.append_keys(tenant_id=str(runtime.tenant_id))
    return allow_all(event, runtime.credential, runtime.to_authorizer())
