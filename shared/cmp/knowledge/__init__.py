"""Knowledge bases (spec Part 6): documents, websites and Q&A pairs parsed, chunked, embedded and stored in
PostgreSQL with pgvector, per subscription (or per product for seller knowledge).

Ingestion lives here (`model`, `ports`, `repository`, `parsers`, `chunking`, `embeddings`, `ingestion`,
`services`); retrieval and grounding (`retrieval`, `grounding`, `rerank`) read the same tables.
"""
