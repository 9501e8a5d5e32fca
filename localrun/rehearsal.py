"""`make local`: rehearse the dev stack on this machine.

1. Evaluate the dev stack's program (`__main__.py`, `Pulumi.dev.yaml`) with the component's
   real code under Pulumi mocks, and print the resources it declares.
2. Judge the network: a reachability verdict for every path the function needs. `--stage`
   rehearses the article's three stages: 1, the function not attached to the VPC; 2, attached
   without the SNS endpoint; 3, the component's design (the default).
3. Stand up local stand-ins for what the stack would create: MariaDB with TLS required for
   RDS, and checking IAM tokens as RDS does (the verifier behind its PAM service knows the
   rehearsal's key and what the stack's job role allows), moto for the secret and the topic
   (with a queue subscribed to read back deliveries). A path judged blocked is wired to a black
   hole, so it fails the way AWS would: a timeout.
4. Apply the schema with the package's migration entry point (as the master user, with the
   secret; it creates the application user), seed a few employees, and run the function's real
   package through the real Lambda runtime interface client: it signs a token and logs in as
   the application user, which the database admits only once the token is verified.
   `--example custom-job` rehearses an example's own job instead (its code, requirements,
   migrations, given to the dev stack as stack config), seeded with the example's seed.sql.
5. Print the invocation's logs and, last, one JSON line with the outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from components.checks.reachability import assess
from components.model.names import RUNBOOK_PAGE
from components.model.network_rules import NetworkFacts, network_facts
from localrun.blackhole import BlackHole
from localrun.examples import Example, load_example, rehearsable
from localrun.local_lambda import InvocationResult, LocalLambda
from localrun.services import AwsEmulator, Pki, local_services, start_mariadb
from localrun.stack_model import StackModel, evaluate_with_ca_bundle, resource_tree
from localrun.wiring import DUMMY_CREDENTIALS, extract_package, local_function_env
from vpclambda_runtime.contract import split_statements

STAGES = {
    1: "the function is not attached to the VPC",
    2: "the function is attached to the private subnets, without the SNS endpoint",
    3: "the function is attached, with the interface endpoints (the component's design)",
}


def stage_facts(design: NetworkFacts, stage: int) -> NetworkFacts:
    """The article's stages as network facts, starting from what the component builds."""
    if stage == 1:
        return dataclasses.replace(design, function_attached=False, function_security_groups=())
    if stage == 2:
        return dataclasses.replace(design, endpoints=tuple(e for e in design.endpoints if e.service != "sns"))
    return design


def function_arn(model: StackModel, function: str) -> str:
    return f"arn:{model.partition}:lambda:{model.region}:123456789012:function:{function}"


class Printer:
    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out

    def section(self, title: str) -> None:
        self.out(f"\n== {title}")

    def line(self, text: str = "") -> None:
        self.out(text)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Clean up on SIGTERM as on Ctrl-C."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_function(package_dir: Path, handler: str, env: dict[str, str], arn: str, timeout_s: float,
                 memory_mb: int, printer: Printer, event: Any) -> InvocationResult:
    with LocalLambda(package_dir, handler, env, arn, timeout_s, memory_mb=memory_mb,
                     on_log=lambda line: printer.line(f"  | {line}")) as function:
        return function.invoke(event)


def rehearse(stage: int = 3, employees: int = 5, stack: str = "dev", printer: Printer | None = None,
             example: Example | None = None) -> dict[str, Any]:
    """Run the whole rehearsal; return the outcome (the last line's content)."""
    printer = printer or Printer()
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup, sigterm_as_interrupt():
        work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="vpc-lambda-local-")))
        pki = Pki.create(work / "pki")

        model = evaluate_with_ca_bundle(stack, pki.ca, work, example.config if example else None)
        printer.section(f"The {stack} stack declares ({len(model.run.resources)} resources)")
        printer.line(resource_tree(model))

        verdicts = assess(stage_facts(network_facts(model.component.settings), stage))
        printer.section(f"Reachability, stage {stage}: {STAGES[stage]}")
        for verdict in verdicts:
            printer.line(f"  {'ok     ' if verdict.reachable else 'BLOCKED'}  {verdict.path}: {verdict.reason}")
        blocked = {v.path for v in verdicts if not v.reachable}

        printer.section("Local stand-ins")
        db = start_mariadb(work / "mariadb", pki)
        cleanup.callback(db.stop)
        reachable = local_services(db, aws := AwsEmulator(topic_name=model.topic_name, region=model.region))
        cleanup.callback(aws.stop)
        db.trust(model.token_trust(reachable.db_host, db.port, DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                   DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
        printer.line(f"  RDS MySQL    -> MariaDB on 127.0.0.1:{db.port}, TLS required, CA {pki.ca.name}; IAM tokens "
                     "checked by a verifier behind PAM")
        printer.line(f"  SNS, Secrets Manager -> moto at {aws.endpoint} ({model.region})")
        printer.line(f"  topic {aws.topic_arn}, with a subscribed queue")
        hole = cleanup.enter_context(BlackHole())
        if blocked:
            printer.line(f"  blocked paths ({', '.join(sorted(blocked))}) -> a black hole on 127.0.0.1:{hole.port}")

        package_dir = extract_package(model.package_path, work / "task")
        fn_inputs = model.job_function.inputs

        # Deploy time: the schema is applied inside the VPC, where the database is reachable.
        migration_handler = str(model.migration_function.inputs["handler"])
        printer.section(f"Schema migration ({migration_handler}, as `pulumi up` runs it)")
        logging_config = model.job_function.inputs["loggingConfig"]
        migration_env = local_function_env(model.migration_environment, reachable, logging_config=logging_config,
                                           user_variables=model.user_variables)
        migration = run_function(package_dir, migration_handler, migration_env,
                                 function_arn(model, str(model.migration_function.inputs["name"])),
                                 float(fn_inputs["timeout"]), int(fn_inputs["memorySize"]), printer,
                                 json.loads(model.run.one("aws:lambda/invocation:Invocation").inputs["input"]))
        if not migration.ok:
            return finish(printer, {"statusCode": None, "error": migration.error_message, "delivered": False,
                                    "stage": stage}, started)
        printer.line(f"  -> {json.dumps(migration.payload)}")
        app_user = (migration.payload or {}).get("app_user") or {}
        printer.line(f"  application user {app_user.get('user')!r}: created {app_user.get('created')}, granted "
                     f"{', '.join(app_user.get('granted') or []) or 'nothing new'}, revoked "
                     f"{', '.join(app_user.get('revoked') or []) or 'nothing'}")
        if example is not None:
            db.execute(*split_statements(example.seed.read_text()))
            printer.line(f"  seeded from {example.seed.relative_to(example.seed.parents[2])}")
        else:
            db.add_employees(employees)
            printer.line(f"  seeded {employees} employees")

        handler = str(fn_inputs["handler"])
        printer.section(f"Invocation ({handler} through awslambdaric)")
        services = dataclasses.replace(reachable, db_host=hole.host, db_port=hole.port) \
            if "database" in blocked else reachable
        env = local_function_env(model.function_environment, services,
                                 {svc: hole.url for svc in blocked if svc != "database"}, logging_config,
                                 model.user_variables)
        seen = len(db.token_events())
        result = run_function(package_dir, handler, env, function_arn(model, str(fn_inputs["name"])),
                              float(fn_inputs["timeout"]), int(fn_inputs["memorySize"]), printer, {})
        tokens = db.token_events()[seen:]
        for event in tokens:
            printer.line(token_line(event))
        if not result.ok:
            printer.line(f"  -> {result.error_type}: {result.error_message} ({result.duration_s:.1f} s)")
            printer.line(f"  what it means and what to check: {runbook_entry(result.error_type)}")
            return finish(printer, {"statusCode": None, "error": f"{result.error_type}: {result.error_message}",
                                    "delivered": False, "stage": stage,
                                    "runbook": runbook_entry(result.error_type)}, started)
        body = json.loads(result.payload["body"])
        envelope = aws.delivered(body["message_id"])
        # With MessageStructure=json an SQS subscriber receives the "default" text.
        printer.line(f"  -> delivered to the queue: {envelope.get('Message', '')[:200]}")
        verified = [e for e in tokens if e.get("event") == "iam_token_verified"]
        outcome = {"statusCode": result.payload["statusCode"], "handler": handler,
                   "delivered": envelope.get("MessageId") == body["message_id"],
                   "message_id": body["message_id"], "stage": stage,
                   "db_user": verified[0]["user"] if verified else None, "token_verified": bool(verified)}
        outcome.update({"employees": body["employees"]} if example is None else {"body": body})
        return finish(printer, outcome, started)


def token_line(event: dict[str, Any]) -> str:
    """The local database's verdict on a token, as the rehearsal prints it."""
    if event.get("event") == "iam_token_verified":
        return (f"  database: IAM token verified, login as {event['user']!r} admitted (host {event['host']}, action "
                f"{event['action']}, signed by key {event['access_key']}, rds-db:connect on {event['resource']}, "
                f"expires in {event['expires_in_s']} s)")
    return f"  database: IAM token refused for {event.get('user')!r}: {event.get('reason')}"


def runbook_entry(error_type: str | None) -> str:
    """The runbook entry (docs/operations.md) for an error type the function raised."""
    return f"{RUNBOOK_PAGE}#runbook-{(error_type or 'function-errors').lower()}"


def finish(printer: Printer, outcome: dict[str, Any], started: float) -> dict[str, Any]:
    outcome["seconds"] = round(time.monotonic() - started, 1)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localrun", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", type=int, choices=sorted(STAGES), default=3,
                        help="the article's stage to rehearse: " + "; ".join(f"{k}: {v}" for k, v in STAGES.items()))
    parser.add_argument("--employees", type=int, default=5, help="employees to seed (default 5)")
    parser.add_argument("--stack", default="dev", help="the stack whose program is rehearsed (default dev)")
    parser.add_argument("--example", choices=rehearsable(),
                        help="rehearse this example's own job (examples/<name>/stack-config.yaml and seed.sql) "
                             "in place of the built-in one")
    options = parser.parse_args(argv)
    try:
        outcome = rehearse(options.stage, options.employees, options.stack,
                           example=load_example(options.example) if options.example else None)
    except KeyboardInterrupt:
        print(json.dumps({"statusCode": None, "error": "interrupted", "delivered": False}), flush=True)
        return 130
    print(json.dumps(outcome), flush=True)
    return 0 if outcome.get("statusCode") == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
