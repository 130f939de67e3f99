"""Switching off what a disabled block contains, in the merged wire dict.

A seller who disables a block may still inherit switched-on children from the category defaults
(an agent's `chat.features.multiTurn`); those are quietly switched off so the stored document is
consistent. Children the seller switched on themselves under a disabled block are a contradiction
and are reported.
"""

from __future__ import annotations

from typing import Any

from cmp.capabilities.paths import MISSING, dig, is_set
from cmp.errors import FieldError

DETAIL_KEY = "detail"
SWITCHABLE_SECTIONS = ("interfaces", "configuration", "analytics")
"""Top-level sections whose blocks carry an `enabled` switch."""

DEPENDENCIES: tuple[tuple[str, str, str], ...] = (
    (
        "configuration.conversation",
        "interfaces.chat",
        "welcome messages, prompts and hand-offs are shown in the chat",
    ),
)
"""(dependent block, block it needs, why): a dependent block cannot be on while the other is off."""


def _switched_on(value: object) -> bool:
    return value is True or (isinstance(value, list) and len(value) > 0)


def switches_anything_on(data: object) -> bool:
    """True if `data` holds a `true` or a non-empty list anywhere inside."""
    if isinstance(data, dict):
        return any(switches_anything_on(value) for value in data.values())
    return _switched_on(data)


def apply_dependencies(
    merged: dict[str, Any], seller: dict[str, Any]
) -> tuple[list[FieldError], dict[str, str]]:
    """Turn off inherited dependent blocks whose prerequisite is off; report ones the seller turned on.

    Returns the errors and, for blocks turned off here, why (used in later messages).
    """
    errors: list[FieldError] = []
    reasons: dict[str, str] = {}
    for dependent, required, why in DEPENDENCIES:
        if dig(merged, f"{required}.enabled") is not False or dig(merged, f"{dependent}.enabled") is not True:
            continue
        if is_set(seller, f"{dependent}.enabled"):
            errors.append(
                FieldError(
                    f"{dependent}.enabled",
                    f"cannot be on while {required} is disabled: {why}; enable {required} or turn this off",
                )
            )
        else:
            dependent_block = dig(merged, dependent)
            dependent_block["enabled"] = False
            reasons[dependent] = f"{dependent} is off because {required} is disabled ({why})"
    return errors, reasons


def _clear(node: dict[str, Any], seller: object, path: str, reason: str, errors: list[FieldError]) -> None:
    for key, value in node.items():
        if key == "enabled" or key == DETAIL_KEY:
            continue
        child_path = f"{path}.{key}"
        seller_value = seller.get(key, MISSING) if isinstance(seller, dict) else MISSING
        if isinstance(value, dict):
            _clear_nested(value, seller_value, child_path, reason, errors)
        elif _switched_on(value):
            if seller_value is MISSING:
                node[key] = [] if isinstance(value, list) else False
            else:
                wording = "must be empty" if isinstance(value, list) else "cannot be on"
                errors.append(FieldError(child_path, f"{wording} while {reason}; enable it or remove this"))


def _clear_nested(
    node: dict[str, Any], seller: object, path: str, reason: str, errors: list[FieldError]
) -> None:
    """Like `_clear`, but a nested `enabled` is itself a switch to turn off."""
    if node.get("enabled") is True:
        if isinstance(seller, dict) and "enabled" in seller:
            errors.append(
                FieldError(f"{path}.enabled", f"cannot be on while {reason}; enable it or remove this")
            )
        else:
            node["enabled"] = False
    _clear(node, seller, path, reason, errors)


def _disabled_blocks(node: dict[str, Any], path: str) -> list[str]:
    """Paths of every object under `node` (not descending into detail blocks) with `enabled: false`."""
    found: list[str] = []
    for key, value in node.items():
        if not isinstance(value, dict) or key == DETAIL_KEY:
            continue
        child_path = f"{path}.{key}" if path else key
        if value.get("enabled") is False:
            found.append(child_path)
        else:
            found.extend(_disabled_blocks(value, child_path))
    return found


def switch_off_under_disabled(
    root: dict[str, Any], seller: dict[str, Any], path: str, reasons: dict[str, str]
) -> list[FieldError]:
    """Inside the object at `path`: for every disabled block, switch off inherited children and report
    children the seller switched on."""
    errors: list[FieldError] = []
    node = dig(root, path)
    if not isinstance(node, dict):
        return errors
    for block_path in _disabled_blocks(node, path):
        reason = reasons.get(block_path, f"{block_path} is disabled")
        _clear(dig(root, block_path), dig(seller, block_path), block_path, reason, errors)
    return errors


def normalise_master(merged: dict[str, Any], seller: dict[str, Any]) -> list[FieldError]:
    """Dependencies first (they can disable a block), then every disabled block of the master schema."""
    errors, reasons = apply_dependencies(merged, seller)
    for section in SWITCHABLE_SECTIONS:
        errors.extend(switch_off_under_disabled(merged, seller, section, reasons))
    return errors
