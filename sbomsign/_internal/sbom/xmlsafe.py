"""Parse untrusted XML without DTDs or entities.

SBOMs reach the verify gate from anywhere. cyclonedx-python-lib's own XML entry point goes
through defusedxml (a transitive dependency we do not rely on directly), and its validator
uses lxml with `resolve_entities=False`; we parse the bytes ourselves, before either sees
them, so that no DOCTYPE, no entity declaration (billion laughs, external entities) and no
non-UTF-8 encoding that could hide one is accepted, with the standard library only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - hardened below: no DTD, no entities
from typing import NoReturn
from xml.parsers import expat  # noqa: S410 - used only to refuse DTDs and entities

from sbomsign.errors import SbomError

#: Refuse documents above this size before parsing (an SBOM of 100k components is ~100 MB).
MAX_XML_BYTES = 256 * 1024 * 1024
#: The deepest element nesting accepted, as for JSON (`jsonbound.MAX_DEPTH`): the readers and
#: the SBOM libraries walk nested components recursively.
MAX_XML_DEPTH = 100


def parse(data: bytes, name: str) -> ET.Element:
    """The root element of a UTF-8 XML document that declares no DTD and no entity.

    Raises:
        SbomError: the document is too large, not UTF-8, declares a DTD or an entity, or is not
            well-formed.
    """
    if len(data) > MAX_XML_BYTES:
        raise SbomError(f"{name}: XML document larger than {MAX_XML_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SbomError(f"{name}: XML is not UTF-8 ({e.reason} at byte {e.start})") from e
    # NOTE: DOCTYPE and ENTITY are case-sensitive keywords in XML; after decoding, no other
    # encoding can smuggle them past this check.
    for keyword in ("<!DOCTYPE", "<!ENTITY"):
        if keyword in text:
            raise SbomError(f"{name}: XML with a {keyword[2:]} declaration is refused "
                            f"(entities are not allowed in SBOMs)")
    # Belt and braces: a first expat pass whose handlers refuse any DTD or entity declaration
    # even if the text check above were fooled; only then does ElementTree build the tree.
    scanner = expat.ParserCreate()
    scanner.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    scanner.StartDoctypeDeclHandler = _refuse_dtd
    scanner.EntityDeclHandler = _refuse_entity
    scanner.ExternalEntityRefHandler = _refuse_entity
    depth = _Depth()
    scanner.StartElementHandler = depth.enter
    scanner.EndElementHandler = depth.leave
    try:
        scanner.Parse(text, True)
        root = ET.fromstring(text)  # noqa: S314 - checked above: no DTD, no entity
    except (ET.ParseError, expat.ExpatError) as e:
        raise SbomError(f"{name}: malformed XML: {e}") from e
    except _Refused as e:
        raise SbomError(f"{name}: XML {e} is refused (entities are not allowed in SBOMs)") from e
    except _TooDeep as e:
        raise SbomError(f"{name}: the XML document nests deeper than {MAX_XML_DEPTH} "
                        f"elements (a fixed limit)") from e
    return root


class _TooDeep(Exception):
    pass


class _Depth:
    def __init__(self) -> None:
        self.level = 0

    def enter(self, *_: object) -> None:
        self.level += 1
        if self.level > MAX_XML_DEPTH:
            raise _TooDeep

    def leave(self, *_: object) -> None:
        self.level -= 1


class _Refused(Exception):
    pass


def _refuse_dtd(*_: object) -> NoReturn:
    raise _Refused("DOCTYPE")


def _refuse_entity(*_: object) -> NoReturn:
    raise _Refused("entity")
