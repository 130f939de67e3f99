"""Runtime tiers: tenant onboarding now; shared pooling and dedicated namespaces as they arrive."""
