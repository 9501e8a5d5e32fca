import json

from markupsafe import _speedups, escape  # binary wheels only: a compiled module for each platform

from vpclambda_runtime import execute, invocation, notify, query


def handler(event, context):
    with invocation(context):
        execute("INSERT INTO audit (entry) VALUES (%s)", (str(escape("<login> by ada")),))
        (count,), = query("SELECT COUNT(*) FROM audit")
        message_id = notify({"entries": count}, subject=f"{count} audit entries")
    return {"statusCode": 200, "body": json.dumps({"entries": count, "compiled": _speedups.__file__.rsplit("/", 1)[-1],
                                                   "message_id": message_id})}
