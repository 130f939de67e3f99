"""`cmp`: the developer's command line (run the platform, migrate, seed, invoke, OpenAPI, checks)."""

from __future__ import annotations

import argparse
import errno
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmp.errors import DomainError

if TYPE_CHECKING:
    from cmp_dev.seed import DemoAccount

ROOT = Path.cwd()
LOCAL_DIR = Path(os.environ.get("CMP_LOCAL_DIR", ROOT / ".local"))
SUPERVISION_SECONDS = 1.0  # how often `cmp dev` checks that the AWS APIs and PostgreSQL still run


def _use_running_stack() -> None:
    from cmp_dev.local.dev import client_environment, running_stack_state

    if not os.environ.get("DATABASE_URL"):
        os.environ.update(client_environment(running_stack_state(LOCAL_DIR)))
    os.environ.setdefault("MIGRATIONS_DATABASE_URL", os.environ["DATABASE_URL"])


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP all ask `cmp dev` to stop, whoever sends them.

    Handlers are installed explicitly because a shell starts a background job with SIGINT ignored (and a
    script's `kill -INT` would then do nothing), and so that no signal ever raises KeyboardInterrupt in
    the middle of start-up or shutdown: the main loop sees `requested` and stops the stack in order.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: str | None = None
        self._event = threading.Event()
        for number in self.SIGNALS:
            signal.signal(number, self._handle)

    def _handle(self, number: int, frame: object) -> None:
        self.received = self.received or signal.Signals(number).name
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """True once a stop was requested; else False after `seconds`."""
        return self._event.wait(seconds)


def cmd_dev(args: argparse.Namespace) -> int:
    from cmp.bootstrap import bootstrap
    from cmp_dev.local.dev import start_stack
    from cmp_dev.seed import DEMO_ACCOUNTS, seed

    signals = StopSignals()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print("Starting the local stack (PostgreSQL, the AWS APIs, functions)...", flush=True)
    try:
        stack = start_stack(ROOT, LOCAL_DIR, http_port=args.port)
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        print(
            f"cmp: port {args.port} is in use (is CMP already running?); choose another with CMP_PORT=9000",
            file=sys.stderr,
        )
        return 1
    status = 0
    try:
        if not signals.requested:
            os.environ.update(stack.combined_environment())
            seeded = seed(bootstrap())
            _print_banner(
                stack.runner.base_url,
                stack.runner.websocket_url,
                f"AWS ({stack.aws.name}): {stack.aws.endpoint}",
                demo_products_line(seeded, LOCAL_DIR),
                DEMO_ACCOUNTS,
                seeded["subscriptions"],
                seeded["demo_agent"],
                seeded["data_sync"],
            )
        while not signals.wait(SUPERVISION_SECONDS):
            problem = stack.failure()
            if problem:
                print(f"cmp: {problem}: stopping the stack.", file=sys.stderr, flush=True)
                status = 1
                break
    except Exception:
        problem = stack.failure()
        if problem is None:
            raise
        print(f"cmp: {problem}: stopping the stack.", file=sys.stderr, flush=True)
        status = 1
    finally:
        reason = f" ({signals.received})" if signals.received else ""
        print(f"\nStopping{reason}...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return status


def demo_products_line(seeded: dict[str, Any], local_dir: Path) -> str:
    """The banner's line about the demo products, from `cmp_dev.seed.seed`'s result: how many the
    marketplace really shows, and which it does not (with their status) when some are missing; then
    how to start over (`local_dir` holds all local data)."""
    total, unpublished = len(seeded["products"]), seeded["unpublished"]
    if not unpublished:
        return f"Demo products: {total} published in the marketplace"
    missing = ", ".join(f"{slug} ({status})" for slug, status in unpublished.items())
    return (
        f"Demo products: {total - len(unpublished)} of {total} published in the marketplace; not published:"
        f" {missing}.\n  Seeding leaves the demo products it finds as they are; for fresh demo data, stop"
        f" CMP and delete {local_dir} (all local data)"
    )


def data_sync_lines(api: str, data_sync: dict[str, Any]) -> list[str]:
    """The banner's Data Sync Automation lines, from `seeded["data_sync"]` (`cmp_dev.demo_sync.DataSyncDemo`
    as a dict): Run Now, the run with every step, the Slack-style messages (after the buyer's login lines,
    which set $BUYER). The sink is printed at the runner's address `api` as every other line; the workflow's
    own step posts to it as `localhost` (`cmp_dev.local.dev.LOCAL_WORKFLOW_HOSTS`), the same server."""
    run_id = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"run_id\"])'"
    workflow = f"{api}/v1/workflows/{data_sync['workflow_id']}"
    return [
        "",
        "Data Sync Automation (hourly: inventory feed -> transform -> PostgreSQL upsert -> Slack-style"
        " message; docs/automations.md). Run it now, then read every step and the posted message:",
        f'  RUN=$(curl -s -X POST {workflow}/runs -H "Authorization: Bearer $BUYER" \\',
        f"""    -H 'Content-Type: application/json' -d '{{"input": {{}}}}' | {run_id})""",
        f'  sleep 5; curl -s {api}/v1/runs/$RUN -H "Authorization: Bearer $BUYER"',
        f"  curl -s {api}/demo/slack",
    ]


def demo_agent_lines(api: str, agent: dict[str, Any]) -> list[str]:
    """The banner's TechCorp lines, from `seeded["demo_agent"]` (`cmp_dev.demo_agent.DemoAgent` as a dict):
    how its knowledge and its product's were indexed, and a chat call in Spanish with the demo API key (or,
    when a document is not indexed, which and why)."""
    indexed = sum(status == "indexed" for status in agent["documents"].values())
    from_product = sum(status == "indexed" for status in agent["product_documents"].values())
    lines = [
        "",
        f"TechCorp support agent ({agent['subscription_id']}): {indexed} of {len(agent['documents'])} knowledge"
        f" documents indexed, and {from_product} of {len(agent['product_documents'])} of the seller's"
        f" (seeding took {agent['seconds']:.0f} s). Ask it in Spanish, with its API key:",
        *_chat_lines(api, agent, agent["question"]),
    ]
    lines += [f"  not indexed: {name}: {problem}" for name, problem in agent["problems"].items()]
    return lines


def product_knowledge_lines(api: str, agent: dict[str, Any]) -> list[str]:
    """The banner's lines on the TechCorp product's own knowledge (its seller's, shared with the agent): a
    chat call the product's warranty answers, and the seller's test of that knowledge (after the seller's
    login line, which sets $TOKEN)."""
    knowledge = f"{api}/v1/provider/products/{agent['product_id']}/knowledge"
    return [
        "  The warranty comes from the product's own knowledge, shared by its seller (cited with"
        ' "origin": "product"):',
        *_chat_lines(api, agent, agent["product_question"]),
        "  The seller tests that knowledge alone ($TOKEN is the seller's; docs/knowledge.md, 'Seller-provided"
        " product knowledge'):",
        f'  curl -s -X POST {knowledge}/test -H "Authorization: Bearer $TOKEN" \\',
        f"""    -H 'Content-Type: application/json' -d '{{"question": "{agent["seller_question"]}"}}'""",
    ]


def _chat_lines(api: str, agent: dict[str, Any], message: str) -> list[str]:
    return [
        f"  curl -s -X POST {api}/v1/agents/{agent['subscription_id']}/chat \\",
        f"    -H 'Authorization: Bearer {agent['api_key']}' -H 'Content-Type: application/json' \\",
        f"""    -d '{{"message": "{message}"}}'""",
    ]


def websocket_example_lines(websocket: str, agent: dict[str, Any]) -> list[str]:
    """The banner's streaming example: the demo agent's question over the WebSocket API with its API key, in
    the project's Python (`websockets` client), printing the tokens as they come (docs/websocket.md)."""
    url = f"{websocket}?subscription_id={agent['subscription_id']}&api_key={agent['api_key']}"
    question = json.dumps({"action": "chat", "message": agent["question"]}, ensure_ascii=False)
    return [
        "  Or stream the answer token by token over WebSocket (paste the lines from .venv/bin/python to EOF):",
        ".venv/bin/python - <<'EOF'",
        "import json",
        "from websockets.sync.client import connect",
        f"with connect({url!r}) as ws:",
        f"    ws.send({question!r})",
        '    while (frame := json.loads(ws.recv()))["type"] == "token":',
        '        print(frame["text"], end="", flush=True)',
        '    print("\\n", frame["type"], frame["citations"][0]["title"])',
        "EOF",
    ]


def _print_banner(
    api: str,
    websocket: str | None,
    aws: str,
    products_line: str,
    accounts: Sequence[DemoAccount],
    subscriptions: dict[str, str],
    demo_agent: dict[str, Any] | None,
    data_sync: dict[str, Any] | None = None,
) -> None:
    seller, buyer = accounts[0], accounts[1]
    print(f"""
CMP is running.
API: {api}
Swagger UI: {api}/docs   (OpenAPI: {api}/openapi.json)
{f"WebSocket: {websocket}?subscription_id=…&api_key=…   (streaming chat, docs/websocket.md){chr(10)}" if websocket else ""}{aws}
{products_line}
Demo accounts (password after the colon):""")
    for account in accounts:
        print(f"  {'/'.join(account.roles[1:]):<14} {account.email} : {account.password}")
    held = ", ".join(f"{slug} ({subscription_id})" for slug, subscription_id in subscriptions.items())
    print(f"Demo buyer's subscriptions: {held or 'none'}")
    login = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    lines = [
        "",
        "Try it:",
        f"  curl -s {api}/v1/marketplace/categories",
        f"  TOKEN=$(curl -s -X POST {api}/v1/auth/login -H 'Content-Type: application/json' \\",
        f"""    -d '{{"email": "{seller.email}", "password": "{seller.password}"}}' | {login})""",
        f'  curl -s {api}/v1/me -H "Authorization: Bearer $TOKEN"',
    ]
    if subscriptions:
        lines += [
            f"  BUYER=$(curl -s -X POST {api}/v1/auth/login -H 'Content-Type: application/json' \\",
            f"""    -d '{{"email": "{buyer.email}", "password": "{buyer.password}"}}' | {login})""",
            f"  curl -s {api}/v1/subscriptions/{next(iter(subscriptions.values()))}/dashboard"
            ' -H "Authorization: Bearer $BUYER"',
        ]
    if data_sync and subscriptions:
        lines += data_sync_lines(api, data_sync)
    if demo_agent:
        lines += demo_agent_lines(api, demo_agent)
        if websocket:
            lines += websocket_example_lines(websocket, demo_agent)
        lines += product_knowledge_lines(api, demo_agent)
    lines += [
        "",
        "Dedicated runtime: buying acme-support-agent's Enterprise plan provisions it onto the local cluster"
        " as its own process; its calls answer 'X-CMP-Runtime: dedicated' (docs/dedicated.md, 'Locally').",
    ]
    lines += ["", "Press Ctrl-C to stop every process this started."]
    print("\n".join(lines), flush=True)


def cmd_migrate(args: argparse.Namespace) -> int:
    from cmp.db.migrate import migrate

    url = os.environ.get("MIGRATIONS_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        _use_running_stack()
        url = os.environ["MIGRATIONS_DATABASE_URL"]
    applied = migrate(url)
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from cmp.bootstrap import bootstrap
    from cmp_dev.seed import seed

    _use_running_stack()
    print(json.dumps(seed(bootstrap()), indent=2))
    return 0


def cmd_admin_create(args: argparse.Namespace) -> int:
    from cmp.bootstrap import bootstrap

    _use_running_stack()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    user_id = bootstrap().tenancy.create_platform_admin(args.email, password)
    print(f"platform admin {args.email} created (user {user_id})")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    from cmp_dev.local.dev import running_stack_state
    from cmp_dev.local.functions import FunctionError, FunctionProcess
    from cmp_dev.local.stack import function_environment
    from cmp_dev.local.template import Resolver, read_template

    state = running_stack_state(LOCAL_DIR)
    template = read_template(ROOT / "template.yaml")
    if args.function not in template.functions:
        print(f"unknown function {args.function}; one of: {', '.join(template.functions)}", file=sys.stderr)
        return 2
    fn = template.functions[args.function]
    resolver = Resolver(state["physical"], template.parameters, "us-east-1")
    env = {
        **os.environ,
        **function_environment(
            template, args.function, resolver, state["aws_environment"], state["database_url"]
        ),
    }
    process = FunctionProcess(args.function, fn.code_dir, fn.module, fn.attribute, fn.timeout, env)
    event = json.loads(Path(args.event).read_text())
    try:
        print(json.dumps(process.invoke(event), indent=2, default=str))
    except FunctionError as e:
        print(f"{e.error_type}: {e.message}\n{e.trace}", file=sys.stderr)
        return 1
    finally:
        process.stop()
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    from cmp_dev.local.functions import load_handler
    from cmp_dev.local.openapi import merge_openapi
    from cmp_dev.local.template import read_template

    template = read_template(ROOT / "template.yaml")
    documents: dict[str, dict[str, Any]] = {}
    for name in sorted({r.function for r in template.routes}):
        fn = template.functions[name]
        module = load_handler(fn.code_dir, fn.module, "", f"cmp_openapi_{name}")
        documents[name] = module.app.get_openapi_schema().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
    text = json.dumps(merge_openapi(template, documents), indent=2)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from cmp_dev.devtools import infra_check, manifest_check
    from cmp_dev.devtools.template_check import main as check_main

    template = int(check_main([str(ROOT / "template.yaml")]))
    return max(template, infra_check.main(ROOT / "infra"), manifest_check.main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cmp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser(
        "dev", help="run the platform locally (PostgreSQL, moto or LocalStack, every function)"
    )
    dev.add_argument("--port", type=int, default=int(os.environ.get("CMP_PORT", "8000")))
    dev.set_defaults(func=cmd_dev)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="create the demo data (idempotent)").set_defaults(func=cmd_seed)
    invoke = sub.add_parser(
        "invoke", help="invoke one function with an event file, against the running stack"
    )
    invoke.add_argument("function")
    invoke.add_argument("event")
    invoke.set_defaults(func=cmd_invoke)
    openapi = sub.add_parser("openapi", help="write the merged OpenAPI 3.1 document")
    openapi.add_argument("-o", "--output", default="-")
    openapi.set_defaults(func=cmd_openapi)
    sub.add_parser(
        "check",
        help="lint template.yaml (transformed) and infra/, validate every ASL file and the dedicated runtime manifests",
    ).set_defaults(func=cmd_check)
    admin = sub.add_parser("admin", help="platform administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create", help="create a platform admin")
    create.add_argument("email")
    create.add_argument("--password-stdin", action="store_true")
    create.set_defaults(func=cmd_admin_create)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as e:
        details = "".join(f"\n  {error.path}: {error.message}" for error in e.errors)
        print(f"cmp: {e.message}{details}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        print(f"cmp: {e}", file=sys.stderr)
        return 1
