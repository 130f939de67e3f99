"""CMP: a multi-tenant marketplace for AI products (agents, apps, assistants, automations)."""
