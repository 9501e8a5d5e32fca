"""A Lambda function that reads a private RDS MySQL database and publishes to SNS without a
NAT gateway, wired with security-group-to-security-group rules only."""

from .args import VpcLambdaWithPrivateServicesArgs
from .component import VpcLambdaWithPrivateServices
from .version import __version__

__all__ = ["VpcLambdaWithPrivateServices", "VpcLambdaWithPrivateServicesArgs", "__version__"]
