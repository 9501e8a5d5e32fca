"""Pulumi mocks for unit tests of programs that use the component (see pulumi_mocks.py)."""

from .pulumi_mocks import AwsMocks, ProgramRun, Registered, run_program

__all__ = ["AwsMocks", "ProgramRun", "Registered", "run_program"]
