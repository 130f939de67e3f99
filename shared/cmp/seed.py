"""Demo data for `make run`: idempotent, so a restart finds what it left and adds nothing twice."""

from __future__ import annotations

from dataclasses import dataclass

from cmp.bootstrap import Services


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    organization: str
    roles: tuple[str, ...]
    is_platform_admin: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("seller@demo.cmp.dev", "Demo-Seller-2026!", "Acme AI Labs", ("owner", "seller", "buyer")),
    DemoAccount("buyer@demo.cmp.dev", "Demo-Buyer-2026!", "Globex Retail", ("owner", "buyer")),
    DemoAccount("admin@demo.cmp.dev", "Demo-Admin-2026!", "CMP Platform", ("owner", "admin"), True),
)


def seed(services: Services) -> dict[str, str]:
    """Create the demo accounts that do not exist yet; returns e-mail -> tenant id."""
    tenants: dict[str, str] = {}
    for account in DEMO_ACCOUNTS:
        if services.tenancy.find_account(account.email) is None:
            services.tenancy.create_account(account.email, account.password, account.organization,
                                            list(account.roles), is_platform_admin=account.is_platform_admin)
        found = services.tenancy.find_account(account.email)
        if found and found["tenant_id"]:
            tenants[account.email] = found["tenant_id"]
    return tenants
