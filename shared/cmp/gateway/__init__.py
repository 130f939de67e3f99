"""The runtime gateway: who may call a bought product (API key, widget token, portal JWT), how often (rate
limits, concurrency caps, plan quotas) and where the call runs (shared or dedicated runtime)."""
