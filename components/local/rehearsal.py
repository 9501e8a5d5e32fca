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
   migrations, given to the dev stack as stack config), seeded with the example's seed.sql;
   `--example queue-consumer` sends the example's messages to its queue in moto's SQS and plays
   Lambda's event source mapping until the queue is empty (`queue_rehearsal`).
   `--source DIR --handler module.function` (with `--requirements`, `--migrations`, `--seed`)
   rehearses a job of one's own, from an installed copy too (`python -m vpclambda.local`), given
   to a program of one component in a private VPC; `--stack-config FILE` reads the same from a
   Pulumi stack file. The package is verified for the function's platform and, when its binary
   wheels cannot load here, a twin for this machine is run (twin.py).
5. Print the invocation's logs and, last, one JSON line with the outcome. The exit status is 0 when
   the outcome is the one the reachability verdicts predict (the design works; a stage or a rule
   taken out fails with the blocked path's error type), 1 when it differs.

`--packets` rehearses on network namespaces instead of loopback (`packets.py`): the
function, the migration function, the database and the interface endpoints each in a namespace,
joined by a VPC router, the rules the component registered installed as stateful packet filters;
a stage is then a network (not attached; attached without the SNS endpoint; the design), and a
blocked path times out because its packets are dropped. `--without-rule` / `--extra-rule` change
that run's copy of the rules. `--db-proxy` rehearses the stack with its RDS Proxy (`dbProxy`): on
packets a relay in proxy-sg stands in for the proxy, and the migration has a group of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from vpclambda_runtime import contract, errors
from vpclambda_runtime.contract import split_statements

from ..build.function_code import package_inputs
from ..build.packaging import PackageError, build_package
from ..build.requirements_build import RequirementsError
from ..checks.reachability import assess
from ..model.names import RUNBOOK_PAGE
from ..model.network_rules import NetworkFacts, network_facts
from ..model.problems import ArgumentError
from ..model.settings import QueueTriggerSettings
from . import netns
from .blackhole import BlackHole
from .examples import Example, load_example, rehearsable
from .jobs import Job, job_from_options
from .local_lambda import InvocationResult, LocalLambda, Placement
from .netns import NamespaceError, Namespaces
from .packets import AwsFront, PacketNetwork, TcpRelay, api_hostname, model_subnets, plan_layout, read_dropped
from .queue_rehearsal import messages_of, rehearse_queue
from .security_groups import (
    GroupRule,
    PathVerdict,
    article_table,
    design_facts,
    evaluated_rules,
    findings,
    held_to_table,
    parse_rule,
    table_rules,
    with_rules,
)
from .services import AwsEmulator, MariaDB, Pki, ServiceError, local_services, require_mariadb, start_mariadb
from .stack_model import PROJECT_DIR, StackModel, evaluate_job, evaluate_with_ca_bundle, resource_tree
from .twin import NoTwin, foreign_binaries, platform_problems, twin_inputs, twin_reason
from .wiring import DUMMY_CREDENTIALS, LocalServices, Wiring, extract_package, local_function_env

DB_PROXY_CONFIG_KEY = "vpc-lambda:dbProxy"
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


PATH_ERRORS = {
    "database": ("DatabaseUnreachableError", "DatabaseTimeoutError"),
    "migration-database": ("DatabaseUnreachableError", "DatabaseTimeoutError"),
    "sns": ("NotificationError",),
    "secretsmanager": ("SecretError",),
}
"""The error type a function raises when a path is blocked (a dropped connection times out)."""
LIBRARY_ERRORS = frozenset(name for name, value in vars(errors).items() if isinstance(value, type)
                           and issubclass(value, errors.HandlerError) and value is not errors.HandlerError)
"""The runtime library's error types: each has its runbook entry."""


def function_arn(model: StackModel, function: str) -> str:
    return f"arn:{model.partition}:lambda:{model.region}:123456789012:function:{function}"


def _print_now(text: str) -> None:
    # Each line as it happens, also into a pipe: a rehearsal is watched (and interrupted) live.
    print(text, flush=True)


class Printer:
    def __init__(self, out: Callable[[str], None] = _print_now) -> None:
        self.out = out

    def section(self, title: str) -> None:
        self.out(f"\n== {title}")

    def line(self, text: str = "") -> None:
        self.out(text)


INTERRUPTED = 130
"""The exit status of a rehearsal stopped by Ctrl-C or SIGTERM, its clean-up done (128 + SIGINT)."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Clean up on SIGTERM as on Ctrl-C. The first of them interrupts; from then on both are
    ignored, so a second one cannot cut the clean-up short (a namespace or a server left behind)
    nor change the exit status."""
    signals = (signal.SIGINT, signal.SIGTERM)

    def interrupt(signum: int, frame: Any) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {each: signal.signal(each, interrupt) for each in signals}
    try:
        yield
    finally:
        for each, handler in previous.items():
            if signal.getsignal(each) is interrupt:  # not interrupted: as before
                signal.signal(each, handler)


def run_function(package_dir: Path, handler: str, env: dict[str, str], arn: str, timeout_s: float,
                 memory_mb: int, printer: Printer, event: Any, placement: Placement | None = None) -> InvocationResult:
    with LocalLambda(package_dir, handler, env, arn, timeout_s, memory_mb=memory_mb,
                     on_log=lambda line: printer.line(f"  | {line}"), placement=placement) as function:
        return function.invoke(event)


class PacketsUnavailable(RuntimeError):
    """The packet rehearsal was asked for with rule changes, and namespaces cannot be made here."""


class UnknownRule(ValueError):
    """`--without-rule` names a rule the component does not have."""


@dataclasses.dataclass(frozen=True)
class RuleChanges:
    """Rules taken out of, or added to, a copy of the component's evaluated rules for one packet
    rehearsal (`--without-rule`, `--extra-rule`): the component and its table are not touched."""

    without: tuple[GroupRule, ...] = ()
    extra: tuple[GroupRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.without or self.extra)

    def apply(self, rules: Sequence[GroupRule]) -> tuple[GroupRule, ...]:
        kept = list(rules)
        for removed in self.without:
            matching = [rule for rule in kept if rule.key == removed.key]
            if not matching:
                raise UnknownRule(f"--without-rule {removed.spec()!r}: the component has no such rule; its rules: "
                                 f"{[rule.spec() for rule in rules]}")
            kept.remove(matching[0])
        return (*kept, *self.extra)


class PackageMismatch(RuntimeError):
    """The Lambda package does not match the function's platform, or no twin can be built here."""


def rehearse(stage: int = 3, employees: int = 5, stack: str = "dev", printer: Printer | None = None,
             example: Example | None = None, packets: bool = False,
             changes: RuleChanges = RuleChanges(), job: Job | None = None,
             db_proxy: bool = False) -> dict[str, Any]:
    """Run the whole rehearsal; return the outcome (the last line's content). `packets`: on network
    namespaces with the security groups as packet filters, when they can be made here (else on
    loopback, saying why); `changes` apply to that run's copy of the rules; `job`: a job of one's
    own (`--source`...) instead of this repository's stack; `db_proxy`: with the RDS Proxy
    (`dbProxy`), which the packet rehearsal stands in for with a relay."""
    printer = printer or Printer()
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup, sigterm_as_interrupt():
        work = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="vpc-lambda-local-")))
        pki = Pki.create(work / "pki")

        if job is not None:
            model = evaluate_job(dataclasses.replace(job, args={**job.args, "db_proxy": True}) if db_proxy else job,
                                 pki.ca, work)
            example = Example(job.name, {}, job.seed)  # no seed: nothing seeded
        else:
            overrides = {**(example.config if example else {}), **({DB_PROXY_CONFIG_KEY: True} if db_proxy else {})}
            model = evaluate_with_ca_bundle(stack, pki.ca, work, overrides or None)
        printer.section(f"The {model.stack} stack declares ({len(model.run.resources)} resources)")
        printer.line(resource_tree(model))

        wiring = None
        if packets:
            reason = netns.unavailable()
            if reason is None:
                try:
                    wiring = packet_wiring(model, stage, pki, work, cleanup, printer, changes)
                except NamespaceError as exc:
                    reason = f"the network namespaces could not be made: {exc}"
            if reason is not None:
                if changes:
                    raise PacketsUnavailable(f"--without-rule and --extra-rule need the packet rehearsal: {reason}")
                printer.section("Packets: not on this machine")
                printer.line(f"  --packets: {reason}")
                printer.line("  rehearsing on loopback instead (a blocked path is wired to an address that drops)")
        if wiring is None:
            wiring = loopback_wiring(model, stage, pki, work, cleanup, printer)
        return judged(rehearse_functions(model, wiring, work, stage, employees, example, printer, started,
                                         own_job=job is not None), wiring.blocked, printer)


def print_verdicts(printer: Printer, stage: int, verdicts: Sequence[PathVerdict], note: str = "") -> None:
    printer.section(f"Reachability, stage {stage}: {STAGES[stage]}{note}")
    for verdict in verdicts:
        printer.line(f"  {'ok     ' if verdict.reachable else 'BLOCKED'}  {verdict.path}: {verdict.reason}")


def loopback_wiring(model: StackModel, stage: int, pki: Pki, work: Path, cleanup: contextlib.ExitStack,
                    printer: Printer) -> Wiring:
    """Everything on loopback; a path judged blocked is wired to a black hole."""
    verdicts = assess(stage_facts(network_facts(model.component.settings), stage))
    print_verdicts(printer, stage, verdicts)
    blocked = {v.path for v in verdicts if not v.reachable}

    printer.section("Local stand-ins")
    db = start_mariadb(work / "mariadb", pki)
    cleanup.callback(db.stop)
    printer.line(f"  RDS MySQL    -> MariaDB on 127.0.0.1:{db.port}, TLS required, CA {pki.ca.name}; IAM tokens "
                 "checked by a verifier behind PAM")
    aws = AwsEmulator(topic_name=model.topic_name, region=model.region)
    cleanup.callback(aws.stop)
    printer.line(f"  SNS, Secrets Manager -> moto at {aws.endpoint} ({model.region})")
    printer.line(f"  topic {aws.topic_arn}, with a subscribed queue")
    hole = cleanup.enter_context(BlackHole())
    if blocked:
        printer.line(f"  blocked paths ({', '.join(sorted(blocked))}) -> a black hole on 127.0.0.1:{hole.port}")

    reachable = local_services(db, aws)
    trust_tokens(model, db, reachable.db_host)
    logging_config = model.job_function.inputs["loggingConfig"]
    # Deploy time: the schema is applied inside the VPC, where the database is reachable.
    migration_env = local_function_env(model.migration_environment, reachable,
                                       logging_config=model.migration_function.inputs["loggingConfig"],
                                       user_variables=model.user_variables)
    services = dataclasses.replace(reachable, db_host=hole.host, db_port=hole.port) \
        if "database" in blocked else reachable
    env = local_function_env(model.function_environment, services,
                             {svc: hole.url for svc in blocked if svc != "database"}, logging_config,
                             model.user_variables)
    return Wiring("loopback", db, aws, migration_env, env, blocked=tuple(sorted(blocked)))


def packet_wiring(model: StackModel, stage: int, pki: Pki, work: Path, cleanup: contextlib.ExitStack,
                  printer: Printer, changes: RuleChanges) -> Wiring:
    """The stage's network as namespaces, the rules the component registered as packet filters,
    the stand-ins inside it (see packets.py). NamespaceError when the namespaces cannot
    be made (nothing of them is left behind)."""
    settings = model.component.settings
    design = design_facts(settings)
    registered = held_to_table(evaluated_rules(model.run.resources, model.run.exports["security_group_ids"]),
                               table_rules(settings))
    installed = changes.apply(registered)
    facts = with_rules(stage_facts(design, stage), installed)
    db_host = model.migration_environment[contract.DB_HOST]  # the instance's name (the job's is the proxy's)
    proxy_host = model.function_environment[contract.DB_HOST] if design.proxy_security_groups else None
    hostnames = {service: api_hostname(service, model.region) for service in design.services}
    vpc, subnets = model_subnets(model.run.resources)
    layout = plan_layout(stage_facts(design, stage), design, db_host, hostnames, subnets, vpc, proxy_host)

    made = Namespaces()
    cleanup.callback(made.close)  # after everything that runs inside them has stopped
    try:
        network = PacketNetwork.build(made, layout, installed)
    except BaseException:
        made.close()
        raise
    ns = network.namespaces
    printer.section(f"Network namespaces, stage {stage}: {STAGES[stage]}")
    for line in network.describe():
        printer.line(f"  {line}")
    printer.section("Security groups installed as packet filters (the rules the component registered"
                    + (", changed for this run)" if changes else ")"))
    for line in article_table(installed):
        printer.line(f"  {line}")
    members = layout.members()
    printer.line("  stateful (replies to an allowed connection pass), allow-only, everything else dropped both ways;")
    printer.line("  egress on the sender's interface, ingress on the receiver's; a peer group is its members: "
                 + "; ".join(f"{group} {{{', '.join(addresses)}}}" for group, addresses in sorted(members.items())))
    for change in changes.without:
        printer.line(f"  left out for this run: {change}")
    verdicts = assess(facts)
    print_verdicts(printer, stage, verdicts, " (judged on the rules installed)")
    for finding in findings(with_rules(design, installed)):
        printer.line(f"  FINDING  {finding}")

    printer.section("Stand-ins inside the namespaces")
    require_mariadb()
    # Through the proxy's stand-in (a TCP relay) the job's TLS session is the database's: its
    # certificate carries the proxy's name too.
    db_cert, db_key = pki.issue("database", [db_host, *([proxy_host] if proxy_host else [])])
    db = MariaDB(work / "mariadb", pki, host=layout.database.address, port=layout.db_port,
                 launcher=ns["database"].exec_argv([]))
    cleanup.callback(db.stop)
    db.install()
    db.start(db_cert, db_key)
    db.bootstrap()
    proxied = f"{proxy_host}:{layout.proxy_port}" if proxy_host else None
    trust_tokens(model, db, db_host, proxied)
    printer.line(f"  RDS MySQL -> MariaDB at {db_host} ({layout.database.address}:{db.port}), TLS required, "
                 "IAM tokens checked by a verifier behind PAM")
    if proxy_host is not None:
        proxy_eni = layout.in_namespace("proxy")[0]
        relay = TcpRelay(ns["proxy"], (proxy_eni.address, layout.proxy_port), (layout.database.address, db.port))
        cleanup.callback(relay.stop)
        printer.line(f"  RDS Proxy -> a relay at {proxy_host} ({proxy_eni.address}:{layout.proxy_port}) to the "
                     "database, from proxy-sg; the database checks the job's token for the proxy's name and ID")
    aws = AwsEmulator(topic_name=model.topic_name, region=model.region)
    cleanup.callback(aws.stop)
    api_cert, api_key = pki.issue("apis", sorted(hostnames.values()))
    for where in ("endpoints", "internet"):
        front = AwsFront(ns[where], api_cert, api_key)
        cleanup.callback(front.stop)
    names = ", ".join(f"https://{name}" for name in hostnames.values())
    printer.line(f"  {', '.join(hostnames)} -> moto over HTTPS ({names}) at the endpoints' and the public addresses")
    printer.line(f"  the function verifies them with the run's CA ({pki.ca.name}, AWS_CA_BUNDLE); no endpoint override")

    def services(environment: dict[str, str]) -> LocalServices:
        """The names and ports as the component set them: the namespaces resolve them."""
        return LocalServices(db_host=environment[contract.DB_HOST], db_port=int(environment[contract.DB_PORT]),
                             secret_arn=aws.secret_arn, topic_arn=aws.topic_arn, region=aws.region,
                             aws_endpoint_url=None)

    env = local_function_env(model.function_environment, services(model.function_environment), None,
                             model.job_function.inputs["loggingConfig"], model.user_variables)
    env["AWS_CA_BUNDLE"] = str(pki.ca)
    migration_env = local_function_env(model.migration_environment, services(model.migration_environment), None,
                                       model.migration_function.inputs["loggingConfig"], model.user_variables)
    migration_env["AWS_CA_BUNDLE"] = str(pki.ca)

    def report() -> dict[str, Any]:
        dropped = read_dropped(network)
        printer.section("Connection attempts dropped (where, from > to)")
        printer.line("\n".join(f"  {entry}" for entry in dropped) if dropped else "  none")
        return {"dropped": dropped}

    return Wiring("packets", db, aws, migration_env, env, ns["migration"], ns["function"], report,
                  blocked=tuple(sorted(v.path for v in verdicts if not v.reachable)))


def rehearsal_package(model: StackModel, work: Path, printer: Printer) -> Path:
    """The package the functions run here: the Lambda package, verified for the function's runtime
    and architecture, or, when its binaries cannot load on this machine, its twin built for this
    machine from the same code, migrations and requirement lines (PackageMismatch otherwise)."""
    inputs = model.job_function.inputs
    runtime, architecture = str(inputs["runtime"]), str(inputs["architectures"][0])
    printer.section(f"Deployment package ({architecture}, {runtime})")
    problems = platform_problems(model.package_path, runtime, architecture)
    if problems:
        raise PackageMismatch(f"the Lambda package does not match the function's platform: {'; '.join(problems)}")
    printer.line(f"  {model.package_path.name}: every wheel and binary in it is for {architecture}, {runtime}")
    foreign = foreign_binaries(model.package_path)
    if not foreign:
        return model.package_path
    try:
        twin = build_package(twin_inputs(package_inputs(model.component.settings)), work / "twin" / "packages")
    except (NoTwin, PackageError, RequirementsError) as error:
        raise PackageMismatch(f"{twin_reason(foreign, architecture, runtime)}; but no twin can be built here: "
                              f"{error}") from None
    printer.line(f"  {twin_reason(foreign, architecture, runtime)}")
    return twin.path


def rehearse_functions(model: StackModel, wiring: Wiring, work: Path, stage: int, employees: int,
                       example: Example | None, printer: Printer, started: float,
                       own_job: bool = False) -> dict[str, Any]:
    """The schema migration (as `pulumi up` runs it), the seed, the invocation; the outcome."""
    db, aws = wiring.db, wiring.aws
    base = {"stage": stage, "network": wiring.network}
    try:
        package_path = rehearsal_package(model, work, printer)
    except PackageMismatch as error:
        printer.line(f"  -> {error}")
        return finish(printer, {"statusCode": None, "error": str(error), "delivered": False, "failed": "package",
                                **base}, started)
    package_dir = extract_package(package_path, work / "task")
    fn_inputs = model.job_function.inputs
    timeout_s, memory_mb = float(fn_inputs["timeout"]), int(fn_inputs["memorySize"])

    migration_handler = str(model.migration_function.inputs["handler"])
    printer.section(f"Schema migration ({migration_handler}, as `pulumi up` runs it)")
    migration = run_function(package_dir, migration_handler, wiring.migration_env,
                             function_arn(model, str(model.migration_function.inputs["name"])), timeout_s,
                             memory_mb, printer,
                             json.loads(model.run.one("aws:lambda/invocation:Invocation").inputs["input"]),
                             wiring.migration_placement)
    if not migration.ok:
        return finish(printer, failure(printer, migration, "migration", base) | wiring.report(), started)
    printer.line(f"  -> {json.dumps(migration.payload)}")
    app_user = (migration.payload or {}).get("app_user") or {}
    printer.line(f"  application user {app_user.get('user')!r}: created {app_user.get('created')}, granted "
                 f"{', '.join(app_user.get('granted') or []) or 'nothing new'}, revoked "
                 f"{', '.join(app_user.get('revoked') or []) or 'nothing'}")
    if example is not None and example.seed is not None:
        db.execute(*split_statements(example.seed.read_text()))
        printer.line(f"  seeded from {shown_path(example.seed)}")
    elif example is None:
        db.add_employees(employees)
        printer.line(f"  seeded {employees} employees")

    handler = str(fn_inputs["handler"])
    if example is not None and example.messages is not None:
        seen = len(db.token_events())
        outcome = queue_run(model, example, package_dir, wiring, printer)
        return finish(printer, outcome | logins(db.token_events()[seen:], printer) | base | wiring.report(), started)
    printer.section(f"Invocation ({handler} through awslambdaric)")
    seen = len(db.token_events())
    result = run_function(package_dir, handler, wiring.job_env, function_arn(model, str(fn_inputs["name"])),
                          timeout_s, memory_mb, printer, {}, wiring.job_placement)
    login = logins(db.token_events()[seen:], printer)
    if not result.ok:
        return finish(printer, failure(printer, result, "invocation", base) | wiring.report(), started)
    payload = result.payload if isinstance(result.payload, dict) else {"body": result.payload}
    body: Any = payload.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    message_id = body.get("message_id") if isinstance(body, dict) else None
    if message_id:
        envelope = aws.delivered(message_id)
        delivered = envelope.get("MessageId") == message_id
    else:  # a job of one's own may not say what it published: whatever reached the queue
        envelopes = aws.drain()
        delivered = bool(envelopes)
        envelope = envelopes[0] if envelopes else {}
    if envelope:
        # With MessageStructure=json an SQS subscriber receives the "default" text.
        printer.line(f"  -> delivered to the queue: {envelope.get('Message', '')[:200]}")
    outcome = {"statusCode": payload.get("statusCode"), "handler": handler, "delivered": delivered, **base, **login}
    if message_id:
        outcome["message_id"] = message_id
    outcome.update({"body": body} if example is not None or own_job else {"employees": body["employees"]})
    return finish(printer, outcome | wiring.report(), started)


def trust_tokens(model: StackModel, db: MariaDB, db_host: str, proxy: str | None = None) -> None:
    """The stand-in checks the job's tokens as RDS would: the rehearsal's key, and the
    `rds-db:connect` resources the stack's job role allows (`proxy`: `host:port` of the proxy's
    stand-in, whose tokens name the proxy)."""
    db.trust(model.token_trust(db_host, db.port, DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], proxy))


def token_line(event: dict[str, Any]) -> str:
    """The local database's verdict on a token, as the rehearsal prints it."""
    if event.get("event") == "iam_token_verified":
        return (f"  database: IAM token verified, login as {event['user']!r} admitted (host {event['host']}, action "
                f"{event['action']}, signed by key {event['access_key']}, rds-db:connect on {event['resource']}, "
                f"expires in {event['expires_in_s']} s)")
    return f"  database: IAM token refused for {event.get('user')!r}: {event.get('reason')}"


def logins(events: Sequence[dict[str, Any]], printer: Printer) -> dict[str, Any]:
    """The database's verdicts on the job's tokens, printed; who it admitted, for the outcome."""
    for event in events:
        printer.line(token_line(event))
    verified = [e for e in events if e.get("event") == "iam_token_verified"]
    return {"db_user": verified[0]["user"] if verified else None, "token_verified": bool(verified)}


def queue_run(model: StackModel, example: Example, package_dir: Path, wiring: Wiring,
              printer: Printer) -> dict[str, Any]:
    """The job run by its queue: the example's messages through the event source mapping's steps."""
    fn_inputs = model.job_function.inputs
    handler = str(fn_inputs["handler"])
    settings = QueueTriggerSettings(**(model.component.settings.queue or {}))
    queue_name = str(model.run.one("aws:sqs/queue:Queue", f"{model.component_name}-queue").outputs["name"])
    printer.section(f"The queue runs the job ({handler} through awslambdaric, batches as Lambda polls them)")
    printer.line("  Lambda polls the queue from outside the VPC: no SQS endpoint, no rule in lambda-sg")
    assert example.messages is not None and example.stored_query is not None, "a queue example says what it stores"
    query = example.stored_query
    with LocalLambda(package_dir, handler, wiring.job_env, function_arn(model, str(fn_inputs["name"])),
                     float(fn_inputs["timeout"]), memory_mb=int(fn_inputs["memorySize"]),
                     on_log=lambda line: printer.line(f"  | {line}"), placement=wiring.job_placement) as function:
        outcome = rehearse_queue(wiring.aws, queue_name, settings, messages_of(example.messages), function,
                                 printer.line, lambda: {str(row[0]) for row in wiring.db.query(query)})
    printer.line(f"  -> {outcome['stored']} stored, returned {outcome['returned']}, dead-lettered "
                 f"{outcome['dead_lettered']}, lost {outcome['lost']}")
    return {**outcome, "handler": handler}


def shown_path(path: Path) -> str:
    """A path as the user gave it: relative to the working directory when it is under it."""
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def succeeded(outcome: dict[str, Any]) -> bool:
    """No function failed, nothing was lost (a queue's messages), and the job's status code, if it
    returned one, is a success."""
    status = outcome.get("statusCode")
    if "failed" in outcome or outcome.get("lost") or ("polls" in outcome and status != 200):
        return False
    return status is None or (isinstance(status, int) and 200 <= status < 300)


def judged(outcome: dict[str, Any], blocked: Sequence[str], printer: Printer) -> dict[str, Any]:
    """The outcome held to what the verdicts predict: the design works; a blocked path (a stage, a
    rule taken out) fails with its error type. `expected` says whether it did; the exit status follows."""
    error_type = str(outcome.get("error") or "").split(":", 1)[0]
    if not blocked:
        prediction = "every path is reachable: the function succeeds"
        expected = succeeded(outcome)
    else:
        errors_expected = sorted({name for path in blocked for name in PATH_ERRORS.get(path, ())})
        prediction = (f"{', '.join(blocked)} BLOCKED: the functions fail with {' or '.join(errors_expected)}, "
                      "as in AWS")
        expected = outcome.get("failed") in ("migration", "invocation") and error_type in errors_expected
    printer.section("Outcome")
    printer.line(f"  {'as expected' if expected else 'NOT as expected'}: {prediction}"
                 + ("" if expected else f"; got {outcome.get('error') or outcome.get('statusCode')}"))
    return {**outcome, "expected": expected}


def failure(printer: Printer, result: InvocationResult, phase: str, base: dict[str, Any]) -> dict[str, Any]:
    """A failed function's outcome: its typed error and the runbook entry."""
    printer.line(f"  -> {result.error_type}: {result.error_message} ({result.duration_s:.1f} s)")
    printer.line(f"  what it means and what to check: {runbook_entry(result.error_type)}")
    return {"statusCode": None, "error": f"{result.error_type}: {result.error_message}", "delivered": False,
            "failed": phase, **base, "runbook": runbook_entry(result.error_type)}


def runbook_entry(error_type: str | None) -> str:
    """The runbook entry (docs/operations.md) for an error type the function raised: the runtime
    library's own types each have one; Lambda's (`Runtime.ImportModuleError`, `Sandbox.Timedout`...)
    share one; any other exception escaped the job's own code."""
    if not error_type:
        anchor = "function-errors"
    elif error_type in LIBRARY_ERRORS:
        anchor = error_type.lower()
    elif error_type.startswith(("Runtime.", "Sandbox.")):
        anchor = "lambda-runtime-errors"
    else:
        anchor = "joberror"
    return f"{RUNBOOK_PAGE}#runbook-{anchor}"


def finish(printer: Printer, outcome: dict[str, Any], started: float) -> dict[str, Any]:
    outcome["seconds"] = round(time.monotonic() - started, 1)
    return outcome


EXTRA_MODULES = ("moto", "flask", "flask_cors", "awslambdaric", "boto3", "cryptography", "yaml")
"""What the `local` extra brings, by import name (moto's server needs flask; the runtime client is run)."""


def missing_extra() -> list[str]:
    return [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", type=int, choices=sorted(STAGES), default=3,
                        help="the article's stage to rehearse: " + "; ".join(f"{k}: {v}" for k, v in STAGES.items()))
    parser.add_argument("--employees", type=int, default=5, help="employees to seed (default 5)")
    parser.add_argument("--stack", default="dev", help="the stack of this repository whose program is rehearsed "
                                                       "(default dev)")
    parser.add_argument("--example", choices=rehearsable(),
                        help="rehearse this example's own job (examples/<name>/stack-config.yaml and seed.sql, or "
                             "messages.json for a job run by its queue) in place of the built-in one")
    own = parser.add_argument_group(
        "your own job", "rehearse your function's code (paths relative to the current directory), given to a "
                        "program of one component in a private VPC")
    own.add_argument("--source", metavar="DIR", help="the function's code (function_source)")
    own.add_argument("--handler", metavar="MODULE.FUNCTION", help="its entry point (function_handler)")
    own.add_argument("--requirements", metavar="FILE", action="append", default=[],
                     help="a requirements file of the function (function_requirements: -r FILE); repeatable")
    own.add_argument("--migrations", metavar="DIR", help="its schema migrations (migrations_source)")
    own.add_argument("--environment", metavar="NAME=VALUE", action="append", default=[],
                     help="an extra environment variable (function_environment); repeatable")
    own.add_argument("--seed", metavar="FILE", help="SQL run after the migrations, before the invocation")
    own.add_argument("--stack-config", metavar="FILE",
                     help="read the arguments from a Pulumi stack file (Pulumi.<stack>.yaml: functionSource, "
                          "functionHandler, functionRequirements, migrationsSource, functionEnvironment, "
                          "functionRuntime, functionArchitecture, dbAppUser, dbAppGrants), paths relative to its "
                          "directory; the options above override it")
    own.add_argument("--region", default="us-east-1", help="the region rehearsed (default us-east-1)")
    parser.add_argument("--packets", action="store_true",
                        help="rehearse on network namespaces, the component's security groups installed as packet "
                             "filters (needs root; falls back to loopback when namespaces cannot be made)")
    parser.add_argument("--db-proxy", action="store_true",
                        help="the stack with its RDS Proxy (dbProxy): the job reaches the database through it (with "
                             "--packets, a relay in proxy-sg stands in for the proxy)")
    parser.add_argument("--without-rule", action="append", default=[], metavar="'GROUP DIRECTION PORT PEER'",
                        help="with --packets: leave this rule out of the run's copy of the component's rules "
                             "(for example 'rds-sg ingress 3306 lambda-sg'); repeatable")
    parser.add_argument("--extra-rule", action="append", default=[], metavar="'GROUP DIRECTION PORT PEER'",
                        help="with --packets: add this TCP rule to the run's copy (for example "
                             "'lambda-sg egress 443 0.0.0.0/0'); repeatable")
    options = parser.parse_args(argv)
    missing = missing_extra()
    if missing:
        parser.exit(2, f"{parser.prog}: {', '.join(missing)} not installed; the rehearsal needs the distribution's "
                       "`local` extra: pip install 'pulumi-vpc-lambda[local]'\n")
    try:
        changes = RuleChanges(tuple(parse_rule(spec) for spec in options.without_rule),
                              tuple(parse_rule(spec) for spec in options.extra_rule))
    except ValueError as exc:
        parser.error(str(exc))
    if changes and not options.packets:
        parser.error("--without-rule and --extra-rule change the packet filters: use them with --packets")
    try:
        job = job_from_options(options)
    except ValueError as exc:
        parser.error(str(exc))
    if job is not None and options.example:
        parser.error("--example rehearses an example's job: give it or your own job (--source ...), not both")
    if job is None and not (PROJECT_DIR / "__main__.py").is_file():
        parser.error("give your job: --source DIR --handler MODULE.FUNCTION (or --stack-config FILE); this "
                     "repository's own stack is rehearsed from its checkout only")
    try:
        outcome = rehearse(options.stage, options.employees, options.stack,
                           example=load_example(options.example) if options.example else None,
                           packets=options.packets, changes=changes, job=job, db_proxy=options.db_proxy)
    except KeyboardInterrupt:
        for each in (signal.SIGINT, signal.SIGTERM):  # the clean-up is done: nothing may cut the exit short
            signal.signal(each, signal.SIG_IGN)
        print(json.dumps({"statusCode": None, "error": "interrupted", "delivered": False}), flush=True)
        return INTERRUPTED
    except (PacketsUnavailable, UnknownRule, ServiceError, ArgumentError) as exc:
        print(f"python -m {__package__}: {exc}", file=sys.stderr, flush=True)
        print(json.dumps({"statusCode": None, "error": str(exc), "delivered": False}), flush=True)
        return 2
    print(json.dumps(outcome), flush=True)
    return 0 if outcome["expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
