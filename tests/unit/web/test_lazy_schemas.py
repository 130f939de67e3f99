"""`cmp.web.schemas.LazySchemas`: a route module's models, imported when a route first reads them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmp.web.schemas import LazySchemas

SHARED = Path(__file__).resolve().parents[3] / "shared"


def test_a_name_is_the_module_attribute() -> None:
    from cmp.web import sla_schemas

    assert LazySchemas("cmp.web.sla_schemas").SubscriptionSla is sla_schemas.SubscriptionSla


def test_a_name_the_module_lacks_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchModel"):
        _ = LazySchemas("cmp.web.sla_schemas").NoSuchModel


def test_the_module_loads_when_a_route_is_first_called_not_with_the_route_module() -> None:
    """In a fresh interpreter: importing the SLA routes leaves their models unbuilt; resolving the route's
    signature (as Powertools does on its first call) imports them, and the return type is the model class."""
    code = f"""
import sys, typing
sys.path.insert(0, {str(SHARED)!r})
from cmp.web.routes import sla
assert "cmp.web.sla_schemas" not in sys.modules
hints = typing.get_type_hints(sla.subscription_sla)
from cmp.web.sla_schemas import SubscriptionSla
assert hints["return"] is SubscriptionSla
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
