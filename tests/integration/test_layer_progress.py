"""Progress on an image's layers: `scan_paths` reports each layer as it is applied, and the
CLI draws it on stderr only when stderr is a terminal."""

from __future__ import annotations

import io
import json
import sys

import pytest

from sbomsign._cli._shared import layer_printer
from sbomsign.scan import scan_paths
from tests.conftest import ASSETS

DEMO = ASSETS / "images" / "demo-oci"


def _layers() -> int:
    index = json.loads((DEMO / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((DEMO / "blobs" / "sha256" / digest).read_text())
    return len(manifest["layers"])


def test_every_layer_is_reported_in_order() -> None:
    seen: list[tuple[str, int, int]] = []
    inventory = scan_paths([f"oci-dir:{DEMO}"], jobs=1,
                           layer_progress=lambda *a: seen.append(a))
    assert not inventory.problems and len(inventory.containers) == 1
    n = _layers()
    assert n >= 2
    assert seen == [(f"oci-dir:{DEMO}", i, n) for i in range(1, n + 1)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_draws_layers_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert layer_printer() is None
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = layer_printer()
    assert callable(show)
    show("oci-dir:img", 1, 2)
    show("oci-dir:img", 2, 2)
    assert terminal.getvalue() == ("\rreading oci-dir:img: layer 1/2"
                                   "\rreading oci-dir:img: layer 2/2\n")
