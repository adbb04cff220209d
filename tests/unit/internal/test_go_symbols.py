"""Package paths from Go function names (GOPATH builds): runtime symbols are not packages,
import paths on `go.` hosts are, and the linker's %xx escapes are undone."""

from __future__ import annotations

import pytest

from sbomsign._internal.binary.detectors.golang.symbols import module_of, package_of


@pytest.mark.parametrize(("name", "package", "module"), [
    (b"go.etcd.io/etcd/etcdserver/api.(*Server).Start", "go.etcd.io/etcd/etcdserver/api",
     "go.etcd.io/etcd"),
    (b"go.uber.org/zap.(*Logger).Info", "go.uber.org/zap", "go.uber.org/zap"),
    (b"gopkg.in/yaml%2ev2.Marshal", "gopkg.in/yaml.v2", "gopkg.in/yaml.v2"),
    (b"github.com/spf13/cobra.(*Command).Execute", "github.com/spf13/cobra",
     "github.com/spf13/cobra"),
    (b"github.com/owner/repo/v3/sub.F[go.shape.int]", "github.com/owner/repo/v3/sub",
     "github.com/owner/repo/v3"),
    (b"go.shape.int", "", ""),
    (b"go.itab.*net/http.Transport,net/http.RoundTripper", "", ""),
    (b"go:buildid", "", ""),
    (b"type:.eq.main.T", "", ""),
    (b"net/http.(*Client).Do", "net/http", ""),
])
def test_package_and_module_of_a_function_name(name: bytes, package: str, module: str) -> None:
    assert package_of(name) == package
    assert module_of(package) == module
