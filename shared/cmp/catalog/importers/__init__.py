"""Importers for studio exports (Langflow, n8n, OpenAPI, MCP): parse safely, propose capabilities.

Usage: `import_flow(file_bytes, source_format=None, filename="flow.json")` returns an `ImportResult`.
"""

from cmp.catalog.importers.api import SUPPORTED_FORMATS, detect_format, import_flow
from cmp.catalog.importers.base import MAX_COMPONENTS
from cmp.catalog.importers.result import ImportResult
from cmp.catalog.importers.safety import MAX_DOCUMENT_VALUES, MAX_IMPORT_BYTES, MAX_NESTING_DEPTH

__all__ = [
    "MAX_COMPONENTS",
    "MAX_DOCUMENT_VALUES",
    "MAX_IMPORT_BYTES",
    "MAX_NESTING_DEPTH",
    "SUPPORTED_FORMATS",
    "ImportResult",
    "detect_format",
    "import_flow",
]
