"""Resource transforms: they reach every argument of the component's children, including the
ones the component does not expose as arguments of its own."""

from typing import cast

import pulumi


def memory_optimised_database(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Any child argument the component does not expose, here the instance class of the database."""
    if args.type_ == "aws:rds/instance:Instance":
        return pulumi.ResourceTransformResult(props={**args.props, "instanceClass": "db.r6g.large"}, opts=args.opts)
    return None


def cost_centre_tags(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Extra tags on every child that takes tags."""
    if "tags" in args.props:
        tags = {**cast(dict[str, str], args.props.get("tags") or {}), "cost-centre": "payments"}
        return pulumi.ResourceTransformResult(props={**args.props, "tags": tags}, opts=args.opts)
    return None
