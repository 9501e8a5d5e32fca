"""Every child of the component is created through `child(role, constructor, name, ...)`, which
applies the user's transform for that role (`transforms`, `model/child_roles.py`) to the child's
keyword arguments and options just before it is created.

This is done in the component's own code, not with Pulumi's engine-side `transforms` option:
those run in the engine, so they see camelCase properties and never run under Pulumi's mocks,
where this package's tests and the local rehearsal evaluate programs. Global Pulumi transforms
given in the component's options still apply as well, in the engine.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi

from ..model.child_roles import CHILD_ROLES, ChildTransform
from ..model.problems import ArgumentError, Problem

T = TypeVar("T")

_TRANSFORMS: weakref.WeakKeyDictionary[pulumi.Resource, Mapping[str, Sequence[ChildTransform]]] = \
    weakref.WeakKeyDictionary()
CREATED: weakref.WeakKeyDictionary[pulumi.Resource, str] = weakref.WeakKeyDictionary()
"""Each child made through `child`, with its role (what a test of "every child reachable" reads)."""


def register(component: pulumi.Resource, transforms: Mapping[str, ChildTransform | Sequence[ChildTransform]]) -> None:
    """The transforms (checked: known roles, callables) that apply to `component`'s children."""
    _TRANSFORMS[component] = {role: tuple(found) if isinstance(found, Sequence) else (found,)
                              for role, found in transforms.items()}


def child(role: str, constructor: Callable[..., T], name: str, /, **kwargs: Any) -> T:
    """`constructor(name, **kwargs)` after the transforms registered for `role` on the parent named
    in `kwargs["opts"]` (none: unchanged)."""
    assert role in CHILD_ROLES, f"{role} is not a documented child role"
    opts = kwargs.pop("opts", None) or pulumi.ResourceOptions()
    args = dict(kwargs)
    for transform in _TRANSFORMS.get(opts.parent, {}).get(role, ()) if opts.parent is not None else ():
        result = transform(args, opts)
        if result is None:
            continue
        if (not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[0], Mapping)
                or not isinstance(result[1], pulumi.ResourceOptions)):
            raise ArgumentError([Problem("transforms", f"the {role!r} transform returned {result!r}; return None "
                                                       "(having changed args or opts in place) or (args, opts)")])
        args, opts = dict(result[0]), result[1]
    created = constructor(name, **args, opts=opts)
    if isinstance(created, pulumi.Resource):
        CREATED[created] = role
    return created
