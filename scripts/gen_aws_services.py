"""Write the table of AWS services and their actions the preview checks `function_permissions`
against (`components/model/aws_services.json`), from botocore's service models.

    python scripts/gen_aws_services.py          # rewrite the table
    python scripts/gen_aws_services.py --check  # exit 1 if it differs from the installed botocore's

botocore is a test dependency, not one of the distribution: the component reads the generated
table and never imports botocore. Each service is keyed by its IAM prefix (botocore's signing
name, with the few exceptions below); its actions are the operation names of every botocore
service signed with that prefix; its endpoint is the name of its VPC endpoint service
(`com.amazonaws.<region>.<endpoint>`), from botocore's endpoint prefix.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "components" / "model" / "aws_services.json"
IAM_PREFIX_EXCEPTIONS = {"monitoring": "cloudwatch"}
"""Signing name -> IAM prefix where they differ (CloudWatch signs as `monitoring`)."""
ENDPOINT_EXCEPTIONS = {"ecr": "ecr.api", "kinesis": "kinesis-streams"}
"""IAM prefix -> VPC endpoint service name where botocore's endpoint prefix is not it
(`api.ecr` is `ecr.api`, `kinesis` is `kinesis-streams`)."""


def table() -> dict[str, Any]:
    import botocore
    import botocore.session

    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    services: dict[str, dict[str, Any]] = {}
    endpoints: dict[str, dict[str, str]] = {}
    for name in sorted(session.get_available_services()):
        model = loader.load_service_model(name, "service-2")
        metadata = model["metadata"]
        signing = metadata.get("signingName") or metadata["endpointPrefix"]
        prefix = IAM_PREFIX_EXCEPTIONS.get(signing, signing)
        entry = services.setdefault(prefix, {"actions": set()})
        entry["actions"].update(model["operations"])
        endpoints.setdefault(prefix, {})[name] = metadata["endpointPrefix"]
    for prefix, entry in services.items():
        by_model = endpoints[prefix]
        endpoint = by_model.get(prefix) or next((e for e in by_model.values() if e == prefix), None) \
            or by_model[sorted(by_model)[0]]
        entry["endpoint"] = ENDPOINT_EXCEPTIONS.get(prefix, endpoint)
        entry["actions"] = sorted(entry["actions"])
    return {"source": f"botocore {botocore.__version__} service models", "services": services}


def render() -> str:
    """One line per service, so a botocore update shows as the services it changed."""
    found = table()
    lines = [f"  {json.dumps(prefix)}: {json.dumps(entry, sort_keys=True)}"
             for prefix, entry in sorted(found["services"].items())]
    return ('{\n"source": ' + json.dumps(found["source"]) + ',\n"services": {\n' + ",\n".join(lines) + "\n}}\n")


def main(argv: list[str]) -> int:
    wanted = render()
    if "--check" in argv:
        if TABLE.read_text() != wanted:
            print(f"{TABLE.relative_to(ROOT)} is out of date: run python scripts/gen_aws_services.py",
                  file=sys.stderr)
            return 1
        return 0
    TABLE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
