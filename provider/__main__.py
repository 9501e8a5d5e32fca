"""The plugin's entry point: host `VpcLambdaWithPrivateServices` for other Pulumi languages."""

import sys
from pathlib import Path

from pulumi.provider.experimental import component_provider_host

try:
    from vpclambda import PrivateServiceEndpoints, VpcLambdaWithPrivateServices, __version__
except ImportError:  # run from a checkout: the same code is the `components` package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from components import PrivateServiceEndpoints, VpcLambdaWithPrivateServices, __version__

PROVIDER_NAME = "vpclambda"

if __name__ == "__main__":
    component_provider_host(components=[VpcLambdaWithPrivateServices, PrivateServiceEndpoints], name=PROVIDER_NAME,
                            version=__version__)
