"""Keeping the Part 6/7 detail blocks consistent with the master blocks they refine.

A detail field that restates a master field is None until validation fills it in from the master
("same" and "at_most" mirrors); a value the seller gives must agree with the master. A "needs"
mirror is a detail switch that only makes sense when a master switch is on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from cmp.capabilities.defaults import deep_merge
from cmp.capabilities.enums import ENTERPRISE_DEPLOYMENTS
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.normalise import switch_off_under_disabled, switches_anything_on
from cmp.capabilities.paths import MISSING, dig, is_set, put
from cmp.capabilities.rag_detail import RagDetail
from cmp.capabilities.workflow_detail import WorkflowDetail
from cmp.errors import FieldError

RAG = "configuration.rag"
WORKFLOW = "configuration.workflowAdvanced"
RAG_DETAIL = f"{RAG}.detail"
WORKFLOW_DETAIL = f"{WORKFLOW}.detail"


class Mirror(NamedTuple):
    detail: str
    """Path inside the detail block."""
    master: str
    """Absolute path of the master field it restates or depends on."""
    kind: Literal["same", "at_most", "needs"]


RAG_MIRRORS: tuple[Mirror, ...] = (
    *(
        Mirror(f"sources.{s}.enabled", f"{RAG}.sources.{s}", "same")
        for s in ("documents", "websites", "qaPairs", "databases", "apis")
    ),
    Mirror("sources.documents.maxFiles", f"{RAG}.limits.maxDocuments", "at_most"),
    Mirror("sources.documents.maxTotalSize", f"{RAG}.limits.maxSizeMB", "at_most"),
    Mirror("sources.websites.maxUrls", f"{RAG}.limits.maxUrls", "at_most"),
    Mirror("retrieval.search.method", f"{RAG}.retrieval.method", "same"),
    Mirror("retrieval.search.topK", f"{RAG}.retrieval.topK", "same"),
    Mirror("retrieval.reranking.enabled", f"{RAG}.retrieval.reranking", "same"),
    Mirror("retrieval.citations.enabled", f"{RAG}.retrieval.citations", "same"),
    Mirror("generation.grounding.strictMode", f"{RAG}.grounding.strictMode", "same"),
    Mirror("generation.grounding.fallbackBehavior", f"{RAG}.grounding.fallback", "same"),
)

WORKFLOW_MIRRORS: tuple[Mirror, ...] = (
    *(
        Mirror(f"triggers.{t}.enabled", f"{WORKFLOW}.triggers.{t}", "same")
        for t in ("webhook", "schedule", "event", "manual", "api")
    ),
    *(
        Mirror(f"flow.{f}.enabled", f"{WORKFLOW}.flow.{f}", "same")
        for f in ("conditionals", "loops", "errorHandling", "subWorkflows")
    ),
    Mirror("flow.loops.parallelExecution", f"{WORKFLOW}.flow.parallelExecution", "needs"),
    *(
        Mirror(f"actions.{a}.enabled", f"{WORKFLOW}.actions.{a}", "same")
        for a in ("http", "database", "ai", "messaging", "storage", "transform", "code")
    ),
    Mirror("actions.transform.customCode", f"{WORKFLOW}.actions.code", "needs"),
    Mirror("data.variables.enabled", f"{WORKFLOW}.data.variables", "same"),
    Mirror("data.secrets.enabled", f"{WORKFLOW}.data.secrets", "same"),
    Mirror("data.state.persistence", f"{WORKFLOW}.data.statePersistence", "same"),
    Mirror("triggers.api.timeout", "runtime.limits.timeout", "at_most"),
    Mirror("actions.http.timeout", "runtime.limits.timeout", "at_most"),
    Mirror("actions.code.timeout", "runtime.limits.timeout", "at_most"),
)

DETAIL_BLOCKS: tuple[tuple[str, str, type[RagDetail] | type[WorkflowDetail], tuple[Mirror, ...]], ...] = (
    (RAG, "RAG", RagDetail, RAG_MIRRORS),
    (WORKFLOW, "advanced workflow", WorkflowDetail, WORKFLOW_MIRRORS),
)


def _json(value: object) -> str:
    return json.dumps(value)


def _reconcile(
    detail: dict[str, Any], base: str, mirror: Mirror, merged: dict[str, Any]
) -> FieldError | None:
    """Fill an unset mirrored field from the master, or report one that contradicts it."""
    path = f"{base}.detail.{mirror.detail}"
    value = dig(detail, mirror.detail)
    master = dig(merged, mirror.master)
    if master is MISSING or value is MISSING:
        return None
    if mirror.kind == "needs":
        if value is True and master is not True:
            return FieldError(
                path, f"needs {mirror.master} to be on; a detail block cannot enable what its parent disables"
            )
        return None
    if value is None:
        put(detail, mirror.detail, master)
        return None
    if mirror.kind == "at_most":
        if isinstance(value, int) and isinstance(master, int) and value > master:
            return FieldError(path, f"is {value} but must not exceed {mirror.master} ({master})")
        return None
    if value == master:
        return None
    if value is True and master is False:
        return FieldError(
            path,
            f"cannot switch on what {mirror.master} switches off; "
            "a detail block cannot enable what its parent disables",
        )
    return FieldError(
        path,
        f"is {_json(value)} but {mirror.master} is {_json(master)}; "
        "a detail value must agree with its master block (leave it out to inherit)",
    )


def reconcile_details(merged: dict[str, Any], seller: dict[str, Any]) -> list[FieldError]:
    """For each detail block present: complete it with its defaults, check it against its master,
    fill in the mirrored fields and switch off what its own disabled sub-blocks contain."""
    errors: list[FieldError] = []
    for base, label, model, mirrors in DETAIL_BLOCKS:
        given = dig(merged, f"{base}.detail")
        if not isinstance(given, dict):
            continue
        detail = deep_merge(model().model_dump(by_alias=True), given)
        put(merged, f"{base}.detail", detail)
        contradicts_master = dig(merged, f"{base}.enabled") is not True and switches_anything_on(
            dig(seller, f"{base}.detail")
        )
        if contradicts_master:
            errors.append(
                FieldError(
                    f"{base}.detail",
                    f"describes {label} features while {base} is disabled; "
                    f"enable {base} or remove the detail block",
                )
            )
        reasons: dict[str, str] = {}
        for mirror in mirrors:
            error = _reconcile(detail, base, mirror, merged)
            if error is not None and not contradicts_master:
                errors.append(error)
            if mirror.detail.endswith(".enabled") and dig(detail, mirror.detail) is False:
                block = f"{base}.detail.{mirror.detail.removesuffix('.enabled')}"
                reasons[block] = f"{block} is disabled (as {mirror.master} is off)"
        if not contradicts_master:
            errors.extend(switch_off_under_disabled(merged, seller, f"{base}.detail", reasons))
    return errors


# ── typed checks on the validated detail blocks ─────────────────────────


class Bound(NamedTuple):
    path: str
    """Relative to the detail block."""
    low: float
    high: float | None
    unit: str


RAG_BOUNDS: tuple[Bound, ...] = (
    Bound("sources.documents.maxFileSize", 1, PLATFORM_MAXIMA.max_file_size_mb, "MB"),
    Bound("sources.documents.maxTotalSize", 1, None, "MB"),
    Bound("sources.documents.maxFiles", 1, None, "files"),
    Bound("sources.websites.maxUrls", 1, None, "URLs"),
    Bound("sources.websites.maxDepth", 1, PLATFORM_MAXIMA.crawl_depth, "levels"),
    Bound("sources.qaPairs.maxPairs", 1, PLATFORM_MAXIMA.qa_pairs, "pairs"),
    Bound("processing.chunking.chunkSize", 1, PLATFORM_MAXIMA.chunk_size_tokens, "tokens"),
    Bound("processing.chunking.overlap", 0, None, "tokens"),
    Bound("processing.embedding.dimensions", 1, PLATFORM_MAXIMA.embedding_dimensions, "dimensions"),
    Bound("retrieval.search.topK", 1, PLATFORM_MAXIMA.top_k, "results"),
    Bound("generation.context.maxTokens", 1, PLATFORM_MAXIMA.context_tokens, "tokens"),
    Bound("generation.context.historyTurns", 0, PLATFORM_MAXIMA.history_turns, "turns"),
    Bound("generation.grounding.confidenceThreshold", 0, 1, ""),
)

WORKFLOW_BOUNDS: tuple[Bound, ...] = (
    Bound("triggers.api.timeout", 1, None, "seconds"),
    Bound("actions.http.timeout", 1, None, "seconds"),
    Bound("actions.code.timeout", 1, None, "seconds"),
    Bound("flow.loops.maxIterations", 1, PLATFORM_MAXIMA.loop_iterations, "iterations"),
    Bound("flow.errorHandling.maxRetries", 0, PLATFORM_MAXIMA.retries, "retries"),
    Bound("flow.subWorkflows.maxDepth", 1, PLATFORM_MAXIMA.sub_workflow_depth, "levels"),
    Bound("data.secrets.maxSecrets", 1, PLATFORM_MAXIMA.secrets, "secrets"),
    Bound("data.state.maxSize", 1, PLATFORM_MAXIMA.state_size_kb, "KB"),
    Bound("monitoring.tracing.sampling", 0, 100, "%"),
)

MONITORING_ESSENTIALS: tuple[tuple[str, str], ...] = (
    ("monitoring.logging", "level"),
    ("monitoring.metrics", "types"),
    ("monitoring.alerts", "conditions"),
    ("monitoring.alerts", "channels"),
)
"""(sub-block, list): monitoring the seller switches on must say what it covers. Other detail lists may
stay empty, meaning "the platform's defaults"; mirrored sub-blocks are switched on by the master."""

DURATION = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
SECONDS_PER_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _bounds(
    detail: dict[str, Any], seller: object, base: str, bounds: tuple[Bound, ...]
) -> Iterator[FieldError]:
    """Range checks on values the seller gave (defaults and values copied from the master are valid)."""
    for bound in bounds:
        if not is_set(seller, bound.path):
            continue
        value = dig(detail, bound.path)
        if not isinstance(value, int | float):
            continue
        unit = f" {bound.unit}" if bound.unit else ""
        if value < bound.low:
            yield FieldError(f"{base}.{bound.path}", f"must be at least {bound.low:g}{unit} (got {value:g})")
        elif bound.high is not None and value > bound.high:
            yield FieldError(
                f"{base}.{bound.path}",
                f"must be at most {bound.high:,g}{unit}, the platform maximum (got {value:,g})",
            )


def _monitoring_essentials(detail: dict[str, Any]) -> Iterator[FieldError]:
    for block, list_key in MONITORING_ESSENTIALS:
        if dig(detail, f"{block}.enabled") is True and not dig(detail, f"{block}.{list_key}"):
            name = block.rsplit(".", 1)[1]
            yield FieldError(
                f"{WORKFLOW_DETAIL}.{block}.{list_key}",
                f"{name} is enabled, so add at least one entry to {list_key}",
            )


def check_rag_detail(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    rag = doc.configuration.rag
    if rag.detail is None:
        return
    detail = rag.detail.model_dump(by_alias=True)
    given = dig(seller, RAG_DETAIL)
    yield from _bounds(detail, given, RAG_DETAIL, RAG_BOUNDS)
    documents = rag.detail.sources.documents
    if documents.max_total_size is not None and documents.max_file_size > documents.max_total_size:
        yield FieldError(
            f"{RAG_DETAIL}.sources.documents.maxFileSize",
            f"a single file ({documents.max_file_size} MB) cannot be larger than the total "
            f"allowed ({documents.max_total_size} MB)",
        )
    chunking = rag.detail.processing.chunking
    if chunking.overlap >= chunking.chunk_size:
        yield FieldError(
            f"{RAG_DETAIL}.processing.chunking.overlap",
            f"must be smaller than chunkSize ({chunking.chunk_size} tokens), or chunks never advance",
        )
    citations = rag.detail.retrieval.citations
    if citations.enabled and citations.format == "none":
        yield FieldError(
            f"{RAG_DETAIL}.retrieval.citations.format",
            "citations are enabled, so choose 'inline' or 'footnote' (not 'none')",
        )
    model = rag.detail.generation.model
    if model.customizable and not model.alternatives:
        yield FieldError(
            f"{RAG_DETAIL}.generation.model.alternatives",
            "buyers may choose the model (customizable is true), so list at least one alternative",
        )
    if rag.detail.processing.embedding.customizable and doc.runtime.deployment not in ENTERPRISE_DEPLOYMENTS:
        yield FieldError(
            f"{RAG_DETAIL}.processing.embedding.customizable",
            "custom embedding models are enterprise only: set runtime.deployment to 'dedicated' or 'hybrid'",
        )


def check_workflow_detail(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    advanced = doc.configuration.workflow_advanced
    if advanced.detail is None:
        return
    detail = advanced.detail.model_dump(by_alias=True)
    given = dig(seller, WORKFLOW_DETAIL)
    yield from _bounds(detail, given, WORKFLOW_DETAIL, WORKFLOW_BOUNDS)
    yield from _monitoring_essentials(detail)
    interval = DURATION.match(advanced.detail.triggers.schedule.min_interval)
    if interval is not None:
        seconds = int(interval.group(1)) * SECONDS_PER_UNIT[interval.group(2)]
        if seconds < PLATFORM_MAXIMA.min_schedule_interval_s:
            yield FieldError(
                f"{WORKFLOW_DETAIL}.triggers.schedule.minInterval",
                f"must be at least {PLATFORM_MAXIMA.min_schedule_interval_s // 60}m; "
                "schedules fire at most once a minute",
            )
