"""HTTP glue for API functions: one resolver factory, one error mapping, the caller's identity."""
