"""The application user the job logs in as, kept by the migration with the master credentials.

Run after the schema migrations, on every run of the migration function (``DB_APP_USER``,
``DB_APP_GRANTS``), it makes the user what the component's arguments say, and changes nothing
when it already is (no statement is sent then):

* **Identified by IAM, TLS required.** ``CREATE USER '<user>'@'%' IDENTIFIED WITH
  AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL`` (RDS MySQL's plugin: the user has no password,
  it logs in with an IAM token); a user of that name identified otherwise is changed with ``ALTER
  USER``. The local rehearsal's MariaDB has no AWS plugin: there (``DB_APP_USER_PLUGIN=pam``) the
  user is identified through PAM, by a verifier that checks the token the way IAM does.
* **Exactly its grants, on its database only.** The privileges of ``DB_APP_GRANTS`` on
  ``DB_NAME`` (its name escaped, so ``_`` in it is no wildcard) are granted; any other privilege
  the user holds on that database, on any other database or table, or globally, and any GRANT
  OPTION, is revoked. So removing a privilege from ``db_app_grants`` and deploying revokes it.
  Column and routine privileges are not looked at.

Every statement is bounded like the migrations' (``database.execute``). A renamed user is a new
user: the old one is left as it is (drop it by hand).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .budget import Budget
from .contract import APP_PRIVILEGES, IAM_AUTH_PLUGIN, PAM_SERVICE
from .database import execute, query_rows
from .db_connection import DeadlineConnection
from .errors import ConfigurationError
from .logs import get_logger
from .settings import AppUser, Settings

HOST = "%"
IAM_IDENTITY = (IAM_AUTH_PLUGIN, "RDS")
"""RDS MySQL: the plugin, and the string it is identified ``AS``."""
PAM_IDENTITY = ("pam", PAM_SERVICE)
REQUIRED_SSL = "ANY"
"""``mysql.user.ssl_type`` of a user created ``REQUIRE SSL``."""


@dataclass(frozen=True)
class AppUserReport:
    user: str
    created: bool
    identity_changed: bool
    granted: tuple[str, ...]
    revoked: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.created or self.identity_changed or bool(self.granted) or bool(self.revoked)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "granted": list(self.granted), "revoked": list(self.revoked)}


def identity(user: AppUser) -> tuple[str, str]:
    return IAM_IDENTITY if user.plugin == IAM_AUTH_PLUGIN else PAM_IDENTITY


def identified_sql(user: AppUser) -> str:
    """How the user logs in: RDS's IAM plugin, or (the rehearsal) PAM."""
    plugin, as_ = identity(user)
    if plugin == IAM_AUTH_PLUGIN:
        return f"IDENTIFIED WITH {plugin} AS '{as_}' REQUIRE SSL"
    return f"IDENTIFIED VIA {plugin} USING '{as_}' REQUIRE SSL"


def schema_pattern(database: str) -> str:
    """The database's name as a database-level grant matches it literally (``_`` and ``%`` are
    wildcards there)."""
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def keep_app_user(conn: DeadlineConnection, settings: Settings, budget: Budget) -> AppUserReport:
    """Create or correct the application user and its grants; returns what was changed."""
    user = settings.app_user
    if user is None:
        raise ConfigurationError("environment variable DB_APP_USER is not set: no application user to keep")
    unknown = [p for p in user.grants if p not in APP_PRIVILEGES]
    if unknown:  # settings refuse them already; a grant beyond these is never sent
        raise ConfigurationError(f"DB_APP_GRANTS: {', '.join(unknown)} is not granted to the application user")
    account = f"'{user.name}'@'{HOST}'"
    schema = schema_pattern(settings.db_name)
    with budget.phase("database", "app-user") as phase:

        def run(sql: str) -> None:
            execute(conn, settings, phase, sql)

        def rows(sql: str, args: Any = None) -> list[tuple[Any, ...]]:
            return query_rows(conn, settings, phase, sql, args)

        found = rows("SELECT plugin, authentication_string, ssl_type FROM mysql.user WHERE User = %s AND Host = %s",
                     (user.name, HOST))
        created = identity_changed = False
        if not found:
            run(f"CREATE USER {account} {identified_sql(user)}")
            created = True
        else:
            plugin, as_, ssl_type = (str(value or "") for value in found[0])
            if (plugin, as_) != identity(user) or ssl_type.upper() != REQUIRED_SSL:
                run(f"ALTER USER {account} {identified_sql(user)}")
                identity_changed = True

        grantee = account
        here = rows("SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES "
                    "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s", (grantee, schema))
        held = {str(privilege).upper() for privilege, _ in here}
        revoked: list[str] = []
        extra = sorted(held - set(user.grants))
        if extra:
            run(f"REVOKE {', '.join(extra)} ON `{schema}`.* FROM {account}")
            revoked += [f"{privilege} ON `{settings.db_name}`.*" for privilege in extra]
        if any(str(grantable).upper() == "YES" for _, grantable in here):
            run(f"REVOKE GRANT OPTION ON `{schema}`.* FROM {account}")
            revoked.append(f"GRANT OPTION ON `{settings.db_name}`.*")
        for other, privilege in rows("SELECT TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                                     "WHERE GRANTEE = %s AND TABLE_SCHEMA <> %s", (grantee, schema)):
            run(f"REVOKE {privilege} ON `{other}`.* FROM {account}")
            revoked.append(f"{privilege} ON `{other}`.*")
        for table_schema, table, privilege in rows(
                "SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES "
                "WHERE GRANTEE = %s", (grantee,)):
            run(f"REVOKE {privilege} ON `{table_schema}`.`{table}` FROM {account}")
            revoked.append(f"{privilege} ON `{table_schema}`.`{table}`")
        for (privilege,) in rows("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES "
                                 "WHERE GRANTEE = %s AND PRIVILEGE_TYPE <> 'USAGE'", (grantee,)):
            run(f"REVOKE {privilege} ON *.* FROM {account}")
            revoked.append(f"{privilege} ON *.*")
        missing = [privilege for privilege in user.grants if privilege not in held]
        if missing:
            run(f"GRANT {', '.join(missing)} ON `{schema}`.* TO {account}")
    report = AppUserReport(user.name, created, identity_changed, tuple(missing), tuple(revoked))
    get_logger().info("application user kept" if report.changed else "application user unchanged",
                      extra={"event": "app_user_kept", "app_user": report.as_dict()})
    return report
