"""Flows: reading Langflow, n8n, OpenAPI and MCP files safely — what they contain, what they propose, and
what was not understood. Used by the catalog (capability proposals in the wizard and the review checks) and,
next, by the workflow engine (executable definitions).

Usage: `import_flow(file_bytes, source_format=None, filename="flow.json", flow_name=None)` returns an
`ImportResult` whose proposal always passes `validate_capabilities`; `flow_name` picks one flow out of a
file holding several (an `n8n export:workflow` array, a Langflow `{"flows": [...]}` bundle). A caller that
changes the proposal (e.g. to the product's own category) can make it valid again with `valid_proposal`.
"""

from cmp.flows.api import SUPPORTED_FORMATS, detect_format, import_flow
from cmp.flows.base import MAX_COMPONENTS
from cmp.flows.proposal import valid_proposal
from cmp.flows.result import ImportResult
from cmp.flows.safety import MAX_DOCUMENT_VALUES, MAX_IMPORT_BYTES, MAX_NESTING_DEPTH

__all__ = [
    "MAX_COMPONENTS",
    "MAX_DOCUMENT_VALUES",
    "MAX_IMPORT_BYTES",
    "MAX_NESTING_DEPTH",
    "SUPPORTED_FORMATS",
    "ImportResult",
    "detect_format",
    "import_flow",
    "valid_proposal",
]
