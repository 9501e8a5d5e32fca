"""The two things the components need from the Pulumi program that Pulumi's public API does not
offer, kept here and nowhere else (a test, `tests/test_program.py`, fails loudly when a Pulumi
release changes them):

* `current_program()`: an object that identifies the program being evaluated, so answers to
  look-ups and the endpoints each component claims are kept per program (tests evaluate many
  programs in one process, each under its own mocks). It is the program's root stack resource.
* `config_keys_set()`: every key set in the stack's config, so the stack program can refuse a
  key it does not know (`pulumi.Config` can only read a key it is given).
"""

from __future__ import annotations

from pulumi import Resource
from pulumi.runtime.config import CONFIG, get_config_env
from pulumi.runtime.settings import get_root_resource


def current_program() -> Resource | None:
    """The root resource of the program being evaluated, or None outside a program."""
    return get_root_resource()


def config_keys_set() -> set[str]:
    """Every `<namespace>:<key>` set in the stack's config (from the engine's environment)."""
    return set(CONFIG.get()) | set(get_config_env())
