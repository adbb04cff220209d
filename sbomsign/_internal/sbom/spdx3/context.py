"""The JSON-LD `@context` of SPDX 3: what a writer names and what marks a document as SPDX 3.

Kept apart from the reader and the writer so that detecting a format imports neither.
"""

from __future__ import annotations

from typing import Any

#: The context every document written names: SPDX 3.0.1's.
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"

#: What the `@context` of an SPDX 3 document starts with (3.0.0, 3.0.1 and later 3.0.x).
CONTEXT_PREFIX = "https://spdx.org/rdf/3.0"


def spdx3_context(doc: Any) -> bool:
    """Whether decoded JSON is a JSON-LD document with an SPDX 3 `@context` (a string, or a
    list holding one)."""
    if not isinstance(doc, dict):
        return False
    context = doc.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(c, str) and c.startswith(CONTEXT_PREFIX) for c in contexts)
