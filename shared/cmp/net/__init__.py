"""Outbound network access on behalf of tenants (crawling their websites, automations' HTTP actions)."""
