"""The real services the function is rehearsed against, all on loopback.

* ``Pki``: a throwaway CA and server certificates (SAN ``localhost`` and ``127.0.0.1``),
  plus a CA that signed nothing and a certificate for the wrong host name.
* ``MariaDB``: Debian's MariaDB server in a temporary datadir on a free port, TLS
  required (``--require-secure-transport=ON``), administered as root over its unix socket. It
  stands in for RDS's IAM database authentication too: the application user is identified
  through PAM (``pam_use_cleartext_plugin``: the client sends its token in clear text, over TLS),
  and the PAM service runs ``token_verifier`` on the token. The server runs in a mount namespace
  of its own whose ``/etc/pam.d`` is its directory's ``pam.d``, so nothing outside that directory
  is written and two servers on one machine never see each other's PAM service.
* ``AwsEmulator``: moto's server in a thread, holding the database secret, the SNS topic
  and an SQS queue subscribed to it (to read back what was delivered).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pymysql
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vpclambda_runtime.contract import MIGRATION_SUFFIX, MIGRATIONS_DIR, PAM_SERVICE, parse_migrations

from .token_verifier import TrustConfig
from .wiring import LocalServices

MARIADBD = "/usr/sbin/mariadbd"
DB_NAME = "myDatabase"
DB_USER = "dbuser"
"""The master user (the migration's, with the secret)."""
DB_PASSWORD = "initial-Passw0rd"
APP_USER = "app"
"""The application user the job logs in as (the component's default `db_app_user`)."""
DB_HOST_NAME = "localhost"
"""How the functions reach the stand-in (its certificate's name; the tokens are signed for it)."""
PAM_EXEC = ("pam_exec.so", "pam_permit.so")
VERIFIER = Path(__file__).resolve().with_name("token_verifier.py")
MASTER_PRIVILEGES = ("SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, "
                     "SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, "
                     "REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, "
                     "TRIGGER")
"""What RDS gives its master user on every database, with GRANT OPTION (no SUPER)."""
TOPIC_NAME = "lambda-test-topic"
SECRET_NAME = "rds!db-rehearsal"
REGION = "cn-northwest-1"
"""The dev stack's region (AWS China, partition aws-cn): moto answers with arn:aws-cn: ARNs."""
SCHEMA_TABLES = ("employees", "schema_history", "schema_history_statements", "schema_migrations")
"""What the function's migrations create (schema_history_statements: the progress of each statement;
schema_migrations: release 0.1.0's history)."""
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class PortReservation:
    """A loopback TCP port held for a server this process starts, for as long as the server lives
    (restarts included): bound with SO_REUSEADDR and never listening, so no other process's port
    look-up or plain bind takes it, while the server, which binds with SO_REUSEADDR as MariaDB does,
    can listen on it. No bind-release-rebind race with another suite on the machine."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.port = int(self._socket.getsockname()[1])

    def release(self) -> None:
        self._socket.close()


# --------------------------------------------------------------------------- PKI


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "realsvc tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, *objects: Any) -> Path:
    chunks = []
    for obj in objects:
        if isinstance(obj, x509.Certificate):
            chunks.append(obj.public_bytes(serialization.Encoding.PEM))
        else:
            chunks.append(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    path.write_bytes(b"".join(chunks))
    path.chmod(0o600)
    return path


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue_server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, dns_names: list[str], ips: list[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0] if dns_names else ips[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


@dataclass(frozen=True)
class Pki:
    ca: Path
    """The CA that signed the database's certificate."""
    server_cert: Path
    server_key: Path
    other_ca: Path
    """A CA that signed nothing the database presents."""
    wrong_name_cert: Path
    """Signed by ``ca`` but for a host name the function does not connect to."""
    wrong_name_key: Path
    ca_key: Path
    """The key of ``ca``, to issue more server certificates (``issue``)."""

    @classmethod
    def create(cls, directory: Path) -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        ca_key, ca_cert = _make_ca("realsvc test CA")
        _, other_cert = _make_ca("realsvc unrelated CA")
        key, cert = _issue_server_cert(ca_key, ca_cert, ["localhost"], ["127.0.0.1"])
        wrong_key, wrong_cert = _issue_server_cert(ca_key, ca_cert, ["db.elsewhere.invalid"], [])
        return cls(
            ca=_write(directory / "ca.pem", ca_cert),
            server_cert=_write(directory / "server-cert.pem", cert),
            server_key=_write(directory / "server-key.pem", key),
            other_ca=_write(directory / "other-ca.pem", other_cert),
            wrong_name_cert=_write(directory / "wrong-name-cert.pem", wrong_cert),
            wrong_name_key=_write(directory / "wrong-name-key.pem", wrong_key),
            ca_key=_write(directory / "ca-key.pem", ca_key),
        )

    def issue(self, name: str, dns_names: list[str], ips: list[str] | None = None) -> tuple[Path, Path]:
        """A server certificate signed by ``ca`` for these names: (certificate, key) files."""
        ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(self.ca.read_bytes())
        key, cert = _issue_server_cert(ca_key, ca_cert, dns_names, ips or [])
        return _write(self.ca.parent / f"{name}-cert.pem", cert), _write(self.ca.parent / f"{name}-key.pem", key)


class ServiceError(RuntimeError):
    """A local stand-in could not be set up (never a reason to skip a test)."""


# --------------------------------------------------------------------------- MariaDB


def pam_module(name: str) -> Path | None:
    for directory in ("/usr/lib/x86_64-linux-gnu/security", "/usr/lib/aarch64-linux-gnu/security", "/lib/security",
                      "/usr/lib/security", "/lib/x86_64-linux-gnu/security", "/lib/aarch64-linux-gnu/security"):
        if (Path(directory) / name).is_file():
            return Path(directory) / name
    return None


def require_mariadb() -> None:
    """Fail (never skip) when the database server, its PAM plugin, the PAM modules or `unshare` are
    not installed."""
    missing = [tool for tool in (MARIADBD, "mariadb-install-db", "unshare") if not shutil.which(tool)]
    missing += [module for module in PAM_EXEC if pam_module(module) is None]
    if missing:
        raise ServiceError(
            f"MariaDB is not installed ({', '.join(missing)} not found): the rehearsal runs it in place of RDS "
            "MySQL, checking the job's IAM tokens through PAM. Install it from your distribution: `sudo apt-get "
            "install -y --no-install-recommends mariadb-server mariadb-client libpam-modules util-linux` (Debian, "
            "Ubuntu; in this repository `make services` does it)."
        )


class MariaDB:
    """A throwaway MariaDB server that accepts TLS connections only."""

    def __init__(self, base: Path, pki: Pki, host: str = "127.0.0.1", port: int | None = None,
                 launcher: Sequence[str] = ()) -> None:
        self.base = base
        self.datadir = base / "data"
        self.socket = base / "mariadbd.sock"
        self.error_log = base / "error.log"
        self.pam_dir = base / "pam.d"
        self.trust_file = base / "iam-trust.json"
        self.token_log = base / "iam-tokens.log"
        self.pki = pki
        self.host = host
        self.tmpdir = base / "tmp"
        # On loopback the port is held until the server binds it; inside a namespace of its own, the
        # address and port are the server's alone.
        self._port: PortReservation | None = None
        if port is None:
            self._port = PortReservation(self.host)
            port = self._port.port
        self.port: int = port
        self.launcher = tuple(launcher)
        """What the server's command runs under (``ip netns exec <name>``: inside a network namespace)."""
        self._proc: subprocess.Popen[bytes] | None = None

    # lifecycle ---------------------------------------------------------------

    def install(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(exist_ok=True)
        self.pam_dir.mkdir(exist_ok=True)
        # The PAM service the application user is identified by: its token goes to the verifier,
        # whose verdict decides the login (and is appended to token_log).
        (self.pam_dir / PAM_SERVICE).write_text(
            f"auth required {pam_module('pam_exec.so')} expose_authtok quiet log={self.token_log} "
            f"{sys.executable} -I {VERIFIER} {self.trust_file}\n"
            f"account required {pam_module('pam_permit.so')}\n")
        self.trust(TrustConfig(DB_HOST_NAME, self.port, REGION, "aws-cn", "000000000000", "db-NONE"))
        # The install too: installs sharing /tmp (two suites at once) fail now and then with
        # "Unknown table 'mysql.tmp_user_sys'".
        result = subprocess.run(
            ["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db", f"--tmpdir={self.tmpdir}"],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self, cert: Path | None = None, key: Path | None = None) -> None:
        assert self._proc is None, "already running"
        # A mount namespace of its own, whose /etc/pam.d is pam_dir (root, or a user namespace).
        namespace = ["unshare", "--mount", "--propagation", "private",
                     *(() if os.geteuid() == 0 else ("--user", "--map-root-user")),
                     "sh", "-c", 'mount --bind "$0" /etc/pam.d && exec "$@"', str(self.pam_dir)]
        command = [
            *namespace, MARIADBD, "--no-defaults", "--user=root", f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--port={self.port}", f"--bind-address={self.host}", "--skip-log-bin", "--skip-name-resolve",
            f"--pid-file={self.base / 'mariadbd.pid'}", f"--log-error={self.error_log}", f"--tmpdir={self.tmpdir}",
            f"--ssl-ca={self.pki.ca}", f"--ssl-cert={cert or self.pki.server_cert}",
            f"--ssl-key={key or self.pki.server_key}", "--require-secure-transport=ON",
            "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
            "--max-connections=100", "--plugin-load-add=auth_pam_v1", "--pam-use-cleartext-plugin=ON",
        ]
        self._proc = subprocess.Popen([*self.launcher, *command], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise ServiceError(f"mariadbd exited at start-up:\n{self.error_tail()}")
            try:
                self.admin().close()
            except pymysql.err.Error:
                time.sleep(0.05)
                continue
            # The attempts that failed left connections in reference cycles, which PyMySQL closes in
            # __del__ whenever the collector runs: collected now, not at a random later moment (a
            # Ctrl-C that lands in a __del__ is swallowed, and the rehearsal would not stop).
            gc.collect()
            return
        self.stop()
        raise ServiceError(f"mariadbd did not accept connections within 30 s:\n{self.error_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGCONT)  # a frozen server must run to act on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def freeze(self) -> None:
        """Stop the server process (SIGSTOP): it keeps its connections and answers nothing."""
        assert self._proc is not None, "not running"
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._proc is not None, "not running"
        self._proc.send_signal(signal.SIGCONT)

    def restart(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.stop()
        self.start(cert=cert, key=key)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def trust(self, config: TrustConfig) -> None:
        """What the database's token check knows from now on (keys, policies, its own names)."""
        config.write(self.trust_file)

    @contextlib.contextmanager
    def reached_through(self, port: int) -> Iterator[None]:
        """Tokens signed for a relay on `port` (a test's stand-in between the function and this
        database) are this database's too, while the relay lives."""
        before = TrustConfig.read(self.trust_file)
        self.trust(dataclasses.replace(before, relays={**before.relays, f"{before.host}:{port}": before.resource_id}))
        try:
            yield
        finally:
            self.trust(before)

    def token_events(self) -> list[dict[str, Any]]:
        """The verifier's verdicts so far, oldest first."""
        try:
            lines = self.token_log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def error_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    # administration ----------------------------------------------------------

    def admin(self, database: str | None = None) -> pymysql.connections.Connection:
        """root over the unix socket (a secure transport, so allowed without TLS)."""
        return pymysql.connect(unix_socket=str(self.socket), user="root", password="", database=database,
                               autocommit=True, connect_timeout=2)

    def execute(self, *statements: str, database: str | None = DB_NAME) -> None:
        conn = self.admin(database)
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def query(self, sql: str, args: Any = None, database: str | None = DB_NAME) -> list[tuple[Any, ...]]:
        conn = self.admin(database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        finally:
            conn.close()

    def bootstrap(self) -> None:
        """What RDS creates: the database, and its master user with RDS's master privileges. The
        application user is the migration's to create."""
        self.execute(
            f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}`",
            f"CREATE USER IF NOT EXISTS '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}' REQUIRE SSL",
            f"GRANT {MASTER_PRIVILEGES} ON *.* TO '{DB_USER}'@'%' WITH GRANT OPTION",
            database=None,
        )

    def set_password(self, password: str) -> None:
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f"ALTER USER '{DB_USER}'@'%%' IDENTIFIED BY %s", (password,))
        finally:
            conn.close()

    def client_threads(self, user: str = APP_USER) -> set[int]:
        """Connection (thread) ids the server holds for ``user``: the function's connections."""
        rows = self.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s", (user,), database=None)
        return {int(row[0]) for row in rows}

    def kill_client_connections(self, user: str = APP_USER) -> set[int]:
        threads = self.client_threads(user)
        for thread in threads:
            self.execute(f"KILL CONNECTION {thread}", database=None)
        return threads

    def reset_employees(self, schema: list[str], rows: int) -> None:
        """Recreate ``employees`` from the packaged migrations' statements (``migration_statements``),
        without a migration history, and fill it with ``rows`` rows."""
        self.execute(*(f"DROP TABLE IF EXISTS {table}" for table in SCHEMA_TABLES))
        self.execute(*schema)
        if rows:
            self.add_employees(rows)

    def add_employees(self, rows: int) -> None:
        """Append ``rows`` rows (MariaDB's sequence engine makes it one statement)."""
        start = int(self.query("SELECT COALESCE(MAX(id), 0) FROM employees")[0][0])
        self.execute(
            "INSERT INTO employees (name, email, department, hired_on) "
            f"SELECT CONCAT('Employee ', seq), CONCAT('employee', seq, '@example.com'), "
            f"ELT(1 + seq % 4, 'engineering', 'operations', 'sales', 'finance'), "
            f"DATE '2015-01-01' + INTERVAL (seq % 3650) DAY FROM seq_{start + 1}_to_{start + rows}"
        )

    def employee_count(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM employees")[0][0])

    def table_exists(self, table: str) -> bool:
        rows = self.query(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (DB_NAME, table), database=None,
        )
        return bool(rows[0][0])


def start_mariadb(base: Path, pki: Pki) -> MariaDB:
    """A MariaDB stand-in installed, started and holding the function's database and user."""
    require_mariadb()
    server = MariaDB(base, pki)
    server.install()
    server.start()
    try:
        server.bootstrap()
    except BaseException:
        server.stop()
        raise
    return server


def local_services(db: MariaDB, aws: AwsEmulator) -> LocalServices:
    """What the function's environment is bound to when it runs against the stand-ins."""
    return LocalServices(db_host=DB_HOST_NAME, db_port=db.port, secret_arn=aws.secret_arn,
                         topic_arn=aws.topic_arn, region=aws.region, aws_endpoint_url=aws.endpoint)


def migration_statements(package_dir: Path) -> list[str]:
    """Every statement of a package's migrations (``migrations/<version>_<name>.sql``), in version order."""
    directory = package_dir / MIGRATIONS_DIR
    files = ((path.name, path.read_bytes()) for path in directory.glob(f"*{MIGRATION_SUFFIX}"))
    return [statement for migration in parse_migrations(files, str(directory)) for statement in migration.statements]


# --------------------------------------------------------------------------- AWS (moto)


class AwsEmulator:
    """moto's server on loopback with the function's secret, topic and a subscribed queue."""

    def __init__(self, topic_name: str = TOPIC_NAME, region: str = REGION) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the console

        self.region = region
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.secret_arn = self.create_secret(SECRET_NAME, {"username": DB_USER, "password": DB_PASSWORD})
        sns = self.client("sns")
        self.topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
        sqs = self.client("sqs")
        self.queue_url = sqs.create_queue(QueueName=f"{topic_name}-deliveries")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def client(self, service: str, region: str | None = None) -> Any:
        return boto3.session.Session().client(
            service, region_name=region or self.region, endpoint_url=self.endpoint,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def create_secret(self, name: str, value: dict[str, Any] | str, region: str | None = None) -> str:
        secret_string = value if isinstance(value, str) else json.dumps(value)
        return str(self.client("secretsmanager", region).create_secret(Name=name, SecretString=secret_string)["ARN"])

    def put_secret(self, secret_arn: str, value: dict[str, Any]) -> None:
        self.client("secretsmanager").put_secret_value(SecretId=secret_arn, SecretString=json.dumps(value))

    def delivered(self, message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The SNS envelope delivered to the queue for ``message_id``."""
        sqs = self.client("sqs")
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            response = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for msg in response.get("Messages", []):
                envelope = json.loads(msg["Body"])
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])
                if envelope.get("MessageId") == message_id:
                    return envelope
                seen.append(str(envelope.get("MessageId")))
        raise ServiceError(f"SNS message {message_id} never reached the queue (saw {seen})")

    def drain(self, wait_s: float = 1.0) -> list[dict[str, Any]]:
        """The SNS envelopes in the subscribed queue (waiting up to ``wait_s`` for the first), removed."""
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0 if found else max(0, round(wait_s)))
            messages = response.get("Messages", [])
            if not messages:
                return found
            for msg in messages:
                found.append(json.loads(msg["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=msg["ReceiptHandle"])

    def stop(self) -> None:
        self._server.stop()
