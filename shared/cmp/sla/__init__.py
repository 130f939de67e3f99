"""SLA monitoring of dedicated subscriptions (issue 14): availability and latency SLOs from the plan,
computed from the gateway's per-call runtime metrics (Powertools EMF, CloudWatch), multi-window burn-rate
alerts, and the buyer's `GET /v1/subscriptions/{id}/sla`. No I/O at import."""
