"""A Lambda function that reads a private RDS MySQL database and publishes to SNS without a
NAT gateway, wired with security-group-to-security-group rules only."""

from .collector import tune_for_large_programs
from .component import VpcLambdaWithPrivateServices
from .model.args import (
    ChildTransform,
    ExistingDatabase,
    FunctionPermission,
    QueueTrigger,
    VpcLambdaWithPrivateServicesArgs,
)
from .model.problems import ArgumentError, Problem
from .resources.private_vpc import PrivateVpc
from .shared_endpoints import PrivateServiceEndpoints, PrivateServiceEndpointsArgs
from .version import __version__

__all__ = [
    "ArgumentError",
    "ChildTransform",
    "ExistingDatabase",
    "FunctionPermission",
    "PrivateServiceEndpoints",
    "PrivateServiceEndpointsArgs",
    "PrivateVpc",
    "Problem",
    "QueueTrigger",
    "VpcLambdaWithPrivateServices",
    "VpcLambdaWithPrivateServicesArgs",
    "__version__",
    "tune_for_large_programs",
]
