"""Network namespaces that a run makes, enters and always removes (Linux, root).

:class:`Namespaces` creates namespaces under one name prefix unique to the run (its pid and a
random suffix, so two runs on one machine never collide) and removes every one of them, with
its ``/etc/netns/<name>`` files, when it is closed: on success, on an exception and on Ctrl-C.
Interfaces are created directly inside the namespaces (a veth pair's two ends in two of them,
a dummy inside one): nothing is ever added to the root namespace.

A :class:`Namespace` starts programs in it (``ip netns exec``, which also bind-mounts the
namespace's ``/etc/netns/<name>/hosts`` over ``/etc/hosts`` for them) and runs Python code in it
(:meth:`Namespace.call`): a helper thread enters the namespace with ``setns(2)`` (namespaces are
per thread), runs the code and ends. A socket keeps the namespace it was created in, so a server
whose listening socket is made there serves that namespace from any thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = Path("/run/netns")
NETNS_ETC_DIR = Path("/etc/netns")
NAME_PREFIX = "vl"
COMMAND_TIMEOUT_S = 30.0


class NamespaceError(RuntimeError):
    """A namespace, an interface, an address, a route or a packet filter could not be set up."""


def tool(name: str) -> str | None:
    """The path of an administration tool (``ip``, ``nft``), also when ``/usr/sbin`` is not on PATH."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")


def unavailable() -> str | None:
    """Why namespaces and packet filters cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces and packet filters need root (CI runs as root; here: sudo make local ...)"
    missing = [name for name in ("ip", "nft") if tool(name) is None]
    if missing:
        return (f"{' and '.join(missing)} not found: `make services` (scripts/install-services.sh) installs "
                "Debian's iproute2 and nftables")
    return None


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run an administration command; its failure raises NamespaceError with what it printed."""
    try:
        result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False,
                                timeout=COMMAND_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NamespaceError(f"{' '.join(argv)}: {exc}") from exc
    if result.returncode != 0:
        raise NamespaceError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


_libc: ctypes.CDLL | None = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


class Namespace:
    """One network namespace of the run."""

    def __init__(self, name: str, role: str) -> None:
        self.name = name
        self.role = role

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"

    def ip(self, *args: str) -> str:
        return run([_ip(), "-n", self.name, *args])

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as a command that runs inside the namespace (with its /etc/netns files)."""
        return [_ip(), "netns", "exec", self.name, *argv]

    def run(self, *argv: str, stdin: str | None = None) -> str:
        return run(self.exec_argv(argv), stdin=stdin)

    def nft(self, ruleset: str) -> None:
        """Load an nftables ruleset (atomically: all of it or nothing)."""
        self.run(_nft(), "-f", "-", stdin=ruleset)

    def nft_list(self, *what: str) -> dict[str, Any]:
        """`nft -j list ...` in the namespace, decoded."""
        return dict(json.loads(self.run(_nft(), "-j", "list", *what)))

    def sysctl(self, key: str, value: str) -> None:
        self.run(tool("sysctl") or "sysctl", "-q", "-w", f"{key}={value}")

    def write_etc(self, filename: str, text: str) -> Path:
        """A file that programs started in the namespace see as ``/etc/<filename>``."""
        directory = NETNS_ETC_DIR / self.name
        for _ in range(3):  # another run may remove an empty /etc/netns in between
            with contextlib.suppress(FileNotFoundError):
                directory.mkdir(parents=True, exist_ok=True)
                break
        path = directory / filename
        path.write_text(text)
        return path

    def call(self, function: Callable[[], T]) -> T:
        """``function()`` run in a thread that has entered this namespace; its result or exception."""
        results: list[T] = []
        errors: list[BaseException] = []

        def enter_and_call() -> None:
            try:
                fd = os.open(NETNS_RUN_DIR / self.name, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _setns(fd)
                finally:
                    os.close(fd)
                results.append(function())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=enter_and_call, name=f"in-{self.role}", daemon=True)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return results[0]


def _ip() -> str:
    return tool("ip") or "ip"


def _nft() -> str:
    return tool("nft") or "nft"


class Namespaces:
    """The run's namespaces: made on demand, all removed by :meth:`close` (idempotent)."""

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = prefix or f"{NAME_PREFIX}{os.getpid()}{secrets.token_hex(2)}"
        self._made: list[Namespace] = []

    def add(self, role: str) -> Namespace:
        namespace = Namespace(f"{self.prefix}-{role}", role)
        run([_ip(), "netns", "add", namespace.name])
        self._made.append(namespace)
        namespace.ip("link", "set", "lo", "up")
        return namespace

    @property
    def names(self) -> list[str]:
        return [namespace.name for namespace in self._made]

    def veth(self, a: Namespace, a_name: str, b: Namespace, b_name: str) -> None:
        """A veth pair whose ends are created directly in ``a`` and ``b`` (never in the root namespace)."""
        run([_ip(), "link", "add", a_name, "netns", a.name, "type", "veth", "peer", "name", b_name, "netns", b.name])

    def close(self) -> None:
        """Remove every namespace made (their interfaces, routes and filters go with them) and its
        /etc/netns files. A failure to remove one does not stop the others."""
        errors: list[str] = []
        while self._made:
            namespace = self._made.pop()
            try:
                run([_ip(), "netns", "delete", namespace.name])
            except NamespaceError as exc:
                if (NETNS_RUN_DIR / namespace.name).exists():
                    errors.append(str(exc))
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(NETNS_ETC_DIR / namespace.name)
        with contextlib.suppress(OSError):
            NETNS_ETC_DIR.rmdir()  # only when no other run has files there
        if errors:
            raise NamespaceError("; ".join(errors))

    def __enter__(self) -> Namespaces:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def existing(prefix: str) -> list[str]:
    """Namespaces whose names start with ``prefix`` (to check that a run removed its own)."""
    try:
        return sorted(p.name for p in NETNS_RUN_DIR.iterdir() if p.name.startswith(prefix))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise
