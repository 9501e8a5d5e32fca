"""A queue's job in the real package, under the real runtime client, against MariaDB: the SQS
batches Lambda's event source mapping hands it, answered with partial batch responses. (The
whole path, with moto's SQS and the redrive, is the queue consumer's rehearsal:
tests/test_local_rehearsal.py.)"""

from __future__ import annotations

import json
from typing import Any

QUEUE_JOB = '''
from vpclambda_runtime import RecordError, execute, invocation, process_batch
import time

def store(record):
    order = record.json()
    if not isinstance(order, dict) or "sku" not in order:
        raise RecordError(f"record {record.message_id}: no sku")
    time.sleep(float(order.get("sleep", 0)))
    execute("INSERT INTO queue_orders (message_id, sku) VALUES (%s, %s)", (record.message_id, order["sku"]))

def handler(event, context):
    with invocation(context):
        return process_batch(event, store)
'''
TABLE = ("CREATE TABLE IF NOT EXISTS queue_orders (message_id VARCHAR(128) NOT NULL PRIMARY KEY, "
         "sku VARCHAR(64) NOT NULL)")


def batch(*bodies: str, arn: str = "arn:aws-cn:sqs:cn-northwest-1:123456789012:orders") -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"h{i}", "body": body, "eventSource": "aws:sqs",
                         "eventSourceARN": arn, "awsRegion": "cn-northwest-1",
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}}
                        for i, body in enumerate(bodies)]}


def stored(db: Any) -> list[str]:
    return sorted(str(row[0]) for row in db.query("SELECT message_id FROM queue_orders"))


def test_a_poisoned_record_alone_is_reported_and_the_others_are_stored(start_function, package_copy, db):
    db.execute("DROP TABLE IF EXISTS queue_orders", TABLE)
    job = start_function("queue_job.handler", package_dir=package_copy({"queue_job.py": QUEUE_JOB}))
    run = job.invoke(batch(json.dumps({"sku": "a"}), "{not json", json.dumps({"nosku": 1}), json.dumps({"sku": "d"})))
    assert run.ok, run.error
    assert run.payload == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    assert stored(db) == ["m0", "m3"]
    failures = {line["message_id"]: line for line in job.events("record_failed", run.request_id)}
    assert (failures["m1"]["error_type"], failures["m2"]["error_type"]) == ("RecordError", "RecordError")
    (summary,) = job.events("batch_processed", run.request_id)
    assert (summary["records"], summary["succeeded"], summary["failed"]) == (4, 2, 2)


def test_a_record_the_database_refuses_names_its_dependency_and_the_rest_go_on(start_function, package_copy, db):
    db.execute("DROP TABLE IF EXISTS queue_orders", TABLE)
    job = start_function("queue_job.handler", package_dir=package_copy({"queue_job.py": QUEUE_JOB}))
    too_long = "x" * 100  # the sku column takes 64 characters: MariaDB refuses the insert in strict mode
    run = job.invoke(batch(json.dumps({"sku": too_long}), json.dumps({"sku": "b"})))
    assert run.ok, run.error
    assert run.payload == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert stored(db) == ["m1"], "the connection was replaced and the next record stored"
    (failure,) = job.events("record_failed", run.request_id)
    assert (failure["error_type"], failure["dependency"], failure["phase"]) == ("DatabaseQueryError", "database",
                                                                                 "query")


def test_records_left_when_the_budget_runs_out_come_back_unstarted(start_function, package_copy, db):
    db.execute("DROP TABLE IF EXISTS queue_orders", TABLE)
    job = start_function("queue_job.handler", package_dir=package_copy({"queue_job.py": QUEUE_JOB}), timeout_s=5)
    # A 5 s timeout keeps a 0.5 s margin and process_batch a 1 s reserve: two 1.5 s records fit, the rest wait.
    run = job.invoke(batch(*(json.dumps({"sku": f"s{i}", "sleep": 1.5}) for i in range(5))))
    assert run.ok, run.error
    reported = [f["itemIdentifier"] for f in run.payload["batchItemFailures"]]
    assert stored(db) == [f"m{i}" for i in range(5) if f"m{i}" not in reported], "nothing lost"
    assert reported and reported == [f"m{i}" for i in range(5 - len(reported), 5)], "the last ones, in order"
    assert run.status == "ok" and run.duration_s < 5, "answered before Lambda's timeout"
    (line,) = job.events("records_not_started", run.request_id)
    unstarted = line["message_ids"]
    assert unstarted and reported[-len(unstarted):] == unstarted, "the unstarted ones close the report"
    # A record started with too little time left (a slow machine) fails typed, and says so; none is lost.
    failed = {f["message_id"] for f in job.events("record_failed", run.request_id)}
    assert set(reported) - set(unstarted) == failed


def test_an_event_that_is_not_a_batch_fails_the_invocation_with_event_error(start_function, package_copy, db):
    db.execute("DROP TABLE IF EXISTS queue_orders", TABLE)
    job = start_function("queue_job.handler", package_dir=package_copy({"queue_job.py": QUEUE_JOB}))
    run = job.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})
    assert run.status == "function_error" and run.error_type == "EventError"
    assert "the event is not an SQS batch" in run.error_message
    (line,) = job.events("invocation_failed", run.request_id)
    assert line["error_type"] == "EventError"
