"""A Lambda function that reads a private RDS MySQL database and publishes to SNS without a
NAT gateway, wired with security-group-to-security-group rules only."""

from .component import VpcLambdaWithPrivateServices
from .model.args import VpcLambdaWithPrivateServicesArgs
from .resources.private_vpc import PrivateVpc
from .shared_endpoints import PrivateServiceEndpoints, PrivateServiceEndpointsArgs
from .version import __version__

__all__ = [
    "PrivateServiceEndpoints",
    "PrivateServiceEndpointsArgs",
    "PrivateVpc",
    "VpcLambdaWithPrivateServices",
    "VpcLambdaWithPrivateServicesArgs",
    "__version__",
]
