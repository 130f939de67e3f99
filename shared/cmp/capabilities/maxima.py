"""The platform's hard ceilings, in one place: a capability document may ask for less, never more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlatformMaxima:
    max_documents: int = 10_000
    max_size_mb: int = 10_240
    max_urls: int = 10_000
    max_chunks: int = 1_000_000
    rate_limit_rpm: int = 10_000
    concurrency: int = 1_000
    timeout_shared_s: int = 900
    timeout_dedicated_s: int = 3_600
    """Also applies to hybrid deployments, whose long runs go to the dedicated side."""
    top_k: int = 50
    max_file_size_mb: int = 1_024
    crawl_depth: int = 10
    qa_pairs: int = 100_000
    chunk_size_tokens: int = 8_192
    embedding_dimensions: int = 2_000
    """pgvector cannot index a `vector` column with more dimensions."""
    context_tokens: int = 200_000
    history_turns: int = 100
    loop_iterations: int = 10_000
    retries: int = 10
    sub_workflow_depth: int = 10
    secrets: int = 500
    state_size_kb: int = 1_024
    min_schedule_interval_s: int = 60
    """Schedulers fire at most once a minute."""


PLATFORM_MAXIMA = PlatformMaxima()
