"""SPDX 3 documents checked by spdx3-validate (JSON schema and SHACL model), offline.

spdx3-validate downloads the JSON schema, the SHACL model and (through rdflib) the JSON-LD
context from spdx.org each time it runs, and no PyPI package ships them. The tests therefore
give it local copies of the three published SPDX 3.0.1 files: while the validator runs, an
opener that serves those three URLs from a directory, and refuses every other URL, stands in
for urllib's, so nothing reaches the network.

The directory is the first of `SBOMSIGN_SPDX3_MODEL_DIR`, `tests/assets/spdx3/3.0.1/`, the
shared vectors (`../shared/vectors/spdx3/3.0.1/` beside the checkout) and
`~/.cache/sbomsign/spdx3/3.0.1/` that holds the three files (`spdx-context.jsonld`,
`spdx-model.ttl`, `spdx-json-schema.json`, as published under https://spdx.org/rdf/3.0.1/
and https://spdx.org/schema/3.0.1/).
"""

from __future__ import annotations

import email.message
import io
import os
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The published files the validator fetches, by URL: (file name, media type).
FILES = {
    "https://spdx.org/rdf/3.0.1/spdx-context.jsonld": ("spdx-context.jsonld",
                                                       "application/ld+json"),
    "https://spdx.org/rdf/3.0.1/spdx-model.ttl": ("spdx-model.ttl", "text/turtle"),
    "https://spdx.org/schema/3.0.1/spdx-json-schema.json": ("spdx-json-schema.json",
                                                            "application/json"),
}


def model_dir() -> Path:
    """The directory holding the SPDX 3.0.1 files (see the module docstring)."""
    candidates = [
        *([Path(os.environ["SBOMSIGN_SPDX3_MODEL_DIR"])]
          if os.environ.get("SBOMSIGN_SPDX3_MODEL_DIR") else []),
        ROOT / "tests" / "assets" / "spdx3" / "3.0.1",
        ROOT.parent / "shared" / "vectors" / "spdx3" / "3.0.1",
        Path.home() / ".cache" / "sbomsign" / "spdx3" / "3.0.1",
    ]
    for d in candidates:
        if all((d / name).is_file() for name, _ in FILES.values()):
            return d
    raise AssertionError(
        "the SPDX 3.0.1 model files (spdx-context.jsonld, spdx-model.ttl, "
        "spdx-json-schema.json) are in none of " + ", ".join(map(str, candidates)))


class _LocalModel(urllib.request.BaseHandler):
    """Serves the SPDX 3.0.1 files from `model_dir()`; any other URL is an error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def https_open(self, request: urllib.request.Request) -> urllib.response.addinfourl:
        url = request.full_url
        if url not in FILES:
            raise urllib.error.URLError(f"offline: {url} is not one of the local SPDX files")
        name, media_type = FILES[url]
        headers = email.message.Message()
        headers["Content-Type"] = media_type
        body = io.BytesIO((self.directory / name).read_bytes())
        return urllib.response.addinfourl(body, headers, url, 200)

    http_open = https_open


@contextmanager
def offline() -> Iterator[None]:
    """urllib (and so rdflib and spdx3-validate) sees only the local SPDX files."""
    opener = urllib.request.OpenerDirector()
    opener.add_handler(_LocalModel(model_dir()))
    previous = urllib.request._opener  # type: ignore[attr-defined]
    urllib.request.install_opener(opener)
    try:
        yield
    finally:
        urllib.request._opener = previous  # type: ignore[attr-defined]


@cache
def _validation_data() -> tuple[Any, Any]:
    from spdx3_validate.core import load_validation_data
    from spdx3_validate.spdx_versions import find_version

    version = find_version("https://spdx.org/rdf/3.0.1/spdx-context.jsonld")
    assert version is not None
    with offline():
        return load_validation_data(version)


def errors(data: bytes, name: str = "document") -> list[str]:
    """What spdx3-validate finds wrong with a document: its JSON-schema and SHACL errors,
    as its `validate` gathers them (empty when the document is valid)."""
    from spdx3_validate.core import Document, check_graph, schema_validator

    schema, shacl = _validation_data()
    with offline():
        doc = Document.from_text(name, data.decode())
    found = [f"{e.json_path}: {e.message}"
             for e in schema_validator(schema).iter_errors(doc.data)]
    found += check_graph(doc.graph, shacl, doc.version, True)
    return found


def cli(path: Path) -> tuple[int, str]:
    """Run spdx3-validate's command line (`spdx3-validate --json PATH`) in this process,
    offline: (exit code, what it printed)."""
    from contextlib import redirect_stdout

    from spdx3_validate.main import main

    out = io.StringIO()
    with offline(), redirect_stdout(out):
        code = main(["--json", str(path), "--quiet"])
    return code, out.getvalue()


def model_errors(data: bytes, name: str = "document") -> list[str]:
    """The SHACL half of `errors`: what the SPDX 3.0.1 model says of the document's graph.

    About a tenth of the time of `errors` (the JSON schema's validation of every element
    reference is the slow half), for tests that check many documents made the same way.
    """
    from spdx3_validate.core import Document, check_graph

    _, shacl = _validation_data()
    with offline():
        doc = Document.from_text(name, data.decode())
    return check_graph(doc.graph, shacl, doc.version, True)
