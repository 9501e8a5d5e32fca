"""Pulumi mocks for the unit tests of a program that uses the component, answering every look-up
the components make the way the AWS provider does (Pulumi's own mocks answer `{}`, which the
preview checks would read as a partition `None`, DNS off and subnets in zone `None`).

    from vpclambda.testing import AwsMocks, run_program

    run = run_program("__main__.py", config={"vpcId": "vpc-0a1b", "privateSubnetIds": ["subnet-0a", "subnet-0b"]})
    run.one("aws:lambda/function:Function", "orders-notifier-function").inputs["vpcConfig"]

    # the same program, both subnets in one zone: refused (vpclambda.ArgumentError)
    run_program("__main__.py", AwsMocks(subnet_azs={"subnet-0a": "us-east-1a", "subnet-0b": "us-east-1a"}), config=...)

`AwsMocks()` has a default for every fact and takes any of them as an argument (see pulumi_mocks.py).
"""

from .pulumi_mocks import AwsMocks, ProgramRun, Registered, run_program

__all__ = ["AwsMocks", "ProgramRun", "Registered", "run_program"]
