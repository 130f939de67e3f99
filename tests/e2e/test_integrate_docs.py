"""docs/integrate.md runs as written, including the blocks that need a subscription.

Until the demo seed gives the demo buyer subscriptions (with checkout), those blocks are ```text blocks
whose first line is `# needs: SUBSCRIPTION`, which `test_docs_examples` does not run. This test runs the
file's ```sh blocks and those blocks, in document order and under the same rules (one bash process,
`# expect:` blocks checked against the error shown below them), after giving the demo buyer a subscription to
the demo agent directly in the database; the only line added is the one setting `SUBSCRIPTION`. Delete this
test once those blocks are ```sh blocks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from cmp_dev.local.dev import Stack
from cmp_dev.seed import DEMO_ACCOUNTS, SELLER
from tests.subscriptions import published_version, subscribe

from .conftest import REPO
from .test_docs_examples import Block, code_blocks, run_examples

DOC = REPO / "docs" / "integrate.md"
PENDING = "# needs: SUBSCRIPTION"
DEMO_BUYER = next(a for a in DEMO_ACCOUNTS if "buyer" in a.roles and "seller" not in a.roles)


def runnable_blocks(path: Path) -> list[Block]:
    """The ```sh blocks that run and the pending ```text blocks (as sh, marker line removed), in order; an
    `# expect:` block carries the ```json block directly below it as its sample."""
    blocks = code_blocks(path.read_text())
    found: list[Block] = []
    for index, block in enumerate(blocks):
        if block.info == "text" and block.text.startswith(PENDING):
            block = replace(block, info="sh", text=block.text.removeprefix(PENDING).lstrip("\n"))
        if block.info != "sh" or block.tool_commands:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.expected_status and following and following.info == "json" and not following.follows_text:
            block = replace(block, sample=following.text)
        found.append(block)
    return found


def test_the_pending_blocks_are_marked_and_only_text() -> None:
    blocks = code_blocks(DOC.read_text())
    pending = [b for b in blocks if b.text.startswith(PENDING)]
    assert len(pending) >= 6 and all(b.info == "text" for b in pending)
    assert len(runnable_blocks(DOC)) == len(pending) + len([b for b in blocks if b.info == "sh"])


def test_the_integrate_examples_run_for_a_subscription_of_the_demo_buyer(
    stack: Stack, stack_services: Any, seeded: dict[str, Any], tmp_path: Path
) -> None:
    db = stack_services.db
    version = published_version(db, seeded["tenants"][SELLER.email], "acme-support-agent")
    pro = next(plan for plan in version["plans"] if plan["name"] == "Pro")
    subscription = subscribe(
        db,
        seeded["tenants"][DEMO_BUYER.email],
        version["capabilities"],
        plan=pro,
        slug="acme-support-agent",
        product=(version["seller_tenant_id"], version["product_id"]),
    )
    blocks = runnable_blocks(DOC)
    sign_in = next(i for i, b in enumerate(blocks) if "buyer@demo.cmp.dev" in b.text)
    blocks.insert(sign_in + 1, Block("sh", 0, f"SUBSCRIPTION={subscription.id}"))
    problems = run_examples(DOC, stack.runner.base_url, tmp_path, blocks)
    assert not problems, "\n\n".join(problems)
