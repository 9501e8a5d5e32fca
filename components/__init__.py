"""A Lambda function that reads a private RDS MySQL database and publishes to SNS without a
NAT gateway, wired with security-group-to-security-group rules only."""

from .args import VpcLambdaWithPrivateServicesArgs
from .component import VpcLambdaWithPrivateServices
from .shared_endpoints import PrivateServiceEndpoints, PrivateServiceEndpointsArgs
from .version import __version__

__all__ = [
    "PrivateServiceEndpoints",
    "PrivateServiceEndpointsArgs",
    "VpcLambdaWithPrivateServices",
    "VpcLambdaWithPrivateServicesArgs",
    "__version__",
]
