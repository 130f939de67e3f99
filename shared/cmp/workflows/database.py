"""The database action: PostgreSQL `query` / `insert` / `update` / `delete` over a connection string kept as a
workflow secret (`config.connection` names it; the worker hands the value in).

SQL injection is impossible by construction: values only ever travel as bind parameters, and names (tables,
columns) only as quoted identifiers (`psycopg.sql.Identifier`) checked against `IDENTIFIER`:

- `query`: `{"sql": "select … where id = %(id)s", "params": {"id": "{{ input.id }}"}}`: the SQL is the
  workflow author's fixed text (templates are refused in it at validation, so run data can never become
  SQL), one statement, run in a READ ONLY transaction; values come from `params` (`%(name)s` placeholders).
- `insert`: `{"table", "rows": [{column: value}…]}` (or one `{{ reference }}` to such an array, checked when
  the step runs; or `"values": {…}` for one row), optional
  `"onConflict": [key columns]` for an upsert that updates every other column.
- `update`: `{"table", "set": {column: value}, "where": {column: value}}`; `delete`: `{"table", "where"}`.
  `where` is required and non-empty (equality on every column given, joined with AND).

Results: `query` → `{"rows": [...], "rowCount", "truncated"}` (at most `maxRows`, ≤ `MAX_ROWS`); the others
→ `{"rowCount"}`. The connection's host is checked by the platform's SSRF rules (`cmp.net.safe_http`: every
address public unless the host is in the allowed list) and the connection is pinned to the checked address;
`statement_timeout` bounds each statement. Errors raise `StepFailed` (`Database.Refused`, `Database.Error`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cmp.workflows.actions import StepFailed

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
MAX_ROWS = 1000
CONNECT_TIMEOUT_SECONDS = 10
_READ = re.compile(r"^\s*(select|with|values|table)\b", re.IGNORECASE)


def check_name(name: object, what: str) -> list[str]:
    """Problems with a table (`schema.table` allowed) or column name; empty when it is fine."""
    parts = name.split(".") if isinstance(name, str) else []
    limit = 2 if what == "table" else 1
    if not parts or len(parts) > limit or not all(IDENTIFIER.fullmatch(p) for p in parts):
        return [
            f"expected a {what} name ([A-Za-z_][A-Za-z0-9_]*{', optionally schema.table' if limit == 2 else ''})"
        ]
    return []


def read_only_sql(sql: object) -> bool:
    """True for one read statement (SELECT / WITH / VALUES / TABLE, no `;` before its end)."""
    return isinstance(sql, str) and bool(_READ.match(sql)) and ";" not in sql.strip().rstrip(";")


class PostgresDatabases:
    """`Databases` over psycopg, with the SSRF host check of `cmp.net.safe_http.SafeFetcher`."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        from cmp.net.safe_http import SafeFetcher

        self._guard = SafeFetcher(allowed_hosts)

    def run(self, connection: str, config: dict[str, Any], timeout_seconds: float) -> dict[str, Any]:
        """Run one operation (see the module docstring); raises StepFailed."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        try:
            params = conninfo_to_dict(connection)
        except psycopg.ProgrammingError as e:
            raise StepFailed(
                "Database.Refused", "the connection secret is not a PostgreSQL connection string"
            ) from e
        params.update(self._pinned(params))
        params["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        params["options"] = f"-c statement_timeout={int(timeout_seconds * 1000)}"
        try:
            with psycopg.connect(make_conninfo("", **params), autocommit=False) as conn:
                return _operation(conn, config)
        except psycopg.Error as e:
            raise StepFailed(
                "Database.Error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            ) from e

    def _pinned(self, params: dict[str, Any]) -> dict[str, Any]:
        from cmp.net.safe_http import FetchRefused

        host, port = str(params.get("host") or ""), str(params.get("port") or "5432")
        if not host or host.startswith("/") or "," in host:
            raise StepFailed(
                "Database.Refused", "the connection needs one network host (no sockets, no lists)"
            )
        try:
            _, _, address = self._guard.check(f"http://{host}:{int(port)}/")
        except (FetchRefused, ValueError) as e:
            raise StepFailed("Database.Refused", getattr(e, "message", str(e))) from e
        return {"host": host, "hostaddr": address, "port": port}


def _operation(conn: Any, config: dict[str, Any]) -> dict[str, Any]:
    from psycopg import sql
    from psycopg.rows import dict_row

    operation = config.get("operation")
    with conn.cursor(row_factory=dict_row) as cur:
        if operation == "query":
            if not read_only_sql(config.get("sql")):
                raise StepFailed("Database.Refused", "a query is one SELECT / WITH / VALUES statement")
            cur.execute("set transaction read only")
            cur.execute(str(config["sql"]), config.get("params") or {})
            limit = min(int(config.get("maxRows", MAX_ROWS)), MAX_ROWS)
            rows = cur.fetchmany(limit + 1)
            conn.rollback()
            return {
                "rows": _json_rows(rows[:limit]),
                "rowCount": min(len(rows), limit),
                "truncated": len(rows) > limit,
            }
        table = sql.Identifier(*str(config.get("table", "")).split("."))
        if operation == "insert":
            rows = config.get("rows") or [config.get("values") or {}]
            if not isinstance(rows, list) or not all(
                isinstance(r, dict) and r and not any(check_name(c, "column") for c in r) for r in rows
            ):
                raise StepFailed("Database.Rows", "rows must be objects of column name -> value")
            count = 0
            for row in rows:
                columns = [sql.Identifier(c) for c in row]
                statement = sql.SQL("insert into {} ({}) values ({})").format(
                    table, sql.SQL(", ").join(columns), sql.SQL(", ").join(sql.Placeholder() * len(row))
                )
                keys = config.get("onConflict") or []
                if keys:
                    others = [c for c in row if c not in keys]
                    action = (
                        sql.SQL("do update set {}").format(
                            sql.SQL(", ").join(
                                sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in others
                            )
                        )
                        if others
                        else sql.SQL("do nothing")
                    )
                    statement += sql.SQL(" on conflict ({}) {}").format(
                        sql.SQL(", ").join(sql.Identifier(k) for k in keys), action
                    )
                cur.execute(statement, [_param(v) for v in row.values()])
                count += cur.rowcount
            conn.commit()
            return {"rowCount": count}
        where = config.get("where") or {}
        condition = sql.SQL(" and ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in where)
        if operation == "update":
            changes = config.get("set") or {}
            assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in changes)
            statement = sql.SQL("update {} set {} where {}").format(table, assignments, condition)
            values = [_param(v) for v in changes.values()] + [_param(v) for v in where.values()]
        else:
            statement = sql.SQL("delete from {} where {}").format(table, condition)
            values = [_param(v) for v in where.values()]
        cur.execute(statement, values)
        conn.commit()
        return {"rowCount": cur.rowcount}


def _param(value: Any) -> Any:
    """A bind value: objects and arrays as JSON (for json/jsonb columns), the rest as they are."""
    if isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON values: dates, decimals and UUIDs as text."""
    import json

    return [json.loads(json.dumps(row, default=str)) for row in rows]


def check_config(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(key under `config`, problem) for a database node's configuration (the shapes of the module
    docstring); empty when it can run."""
    from cmp.workflows.expressions import reference, references

    operation = config.get("operation")
    problems: list[tuple[str, str]] = []
    if operation == "query":
        sql_text = config.get("sql")
        if not read_only_sql(sql_text):
            problems.append(("sql", "expected one SELECT / WITH / VALUES statement"))
        elif references(sql_text) or "{{" in str(sql_text):
            problems.append(("sql", "templates are not allowed in SQL; pass values in params (%(name)s)"))
        if not isinstance(config.get("params", {}), dict):
            problems.append(("params", "expected an object of name -> value"))
        return problems
    problems += [("table", p) for p in check_name(config.get("table"), "table")]
    if operation == "insert":
        rows = config.get("rows", [config.get("values")])
        if isinstance(rows, str) and reference(rows):
            pass
        elif not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and r for r in rows):
            problems.append(("rows", "expected rows (a non-empty array of column -> value) or values"))
        else:
            problems += [("rows", p) for r in rows for c in r for p in check_name(c, "column")][:1]
        keys = config.get("onConflict", [])
        if not isinstance(keys, list) or any(check_name(k, "column") for k in keys):
            problems.append(("onConflict", "expected an array of key column names"))
    else:
        where = config.get("where")
        if not isinstance(where, dict) or not where or any(check_name(c, "column") for c in where):
            problems.append(
                ("where", "expected a non-empty object of column -> value (every row is not an option)")
            )
        changes = config.get("set")
        if operation == "update" and (
            not isinstance(changes, dict) or not changes or any(check_name(c, "column") for c in changes)
        ):
            problems.append(("set", "expected a non-empty object of column -> value"))
    return problems
