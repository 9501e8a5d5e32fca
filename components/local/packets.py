"""The article's network built from network namespaces, its security groups compiled into
stateful packet filters (`make local ARGS="--packets"`).

Namespaces (all made by the run, removed at its end; ``<run>`` is unique per run):

* ``<run>-function``: the job function's network interface (ENI). Attached to the VPC, it is
  in the first subnet and a member of the function's groups; in stage 1 (not attached) it sits
  on Lambda's own network instead, with no security group and no route to the VPC's subnets.
* ``<run>-migration``: the schema-migration function's ENI (second subnet, the groups the
  component gives it: lambda-sg, and with ``db_proxy`` migration-sg too), attached in every stage.
* ``<run>-proxy`` (only with ``db_proxy``): the RDS Proxy's ENI (first subnet, proxy-sg), where a
  TCP relay stands in for the proxy: it accepts the job's connections on 3306 and opens its own to
  the database from there, so both hops go through the filters. (A real proxy checks the job's
  token and logs in with one of its own; the relay passes the job's through, and the database
  checks it for the proxy's name and ID.)
* ``<run>-database``: the database's ENI (second subnet, rds-sg); MariaDB listens there.
* ``<run>-endpoints``: one address per interface endpoint (first subnet, endpoint-sg); the
  stand-in AWS APIs answer HTTPS there.
* ``<run>-vpc``: the VPC router. Each subnet is a bridge; between them it routes, and its route
  table has only the local route: no internet gateway, no NAT (anything else is dropped).
* ``<run>-internet``: the outside of the VPC: Lambda's own network (where a function that is not
  attached runs) and the AWS APIs' public addresses, which answer HTTPS there too. The VPC is
  not connected to it.

Nothing connects to the root namespace: no address is added to this machine's interfaces and no
packet can leave it. Names resolve in a function's namespace as the VPC's private DNS would
resolve them (``/etc/netns/<name>/hosts``): the database's name to its ENI, an API's name to its
interface endpoint when the function is attached and the endpoint exists, else to the API's public
address.

Each ENI namespace gets one nftables table, compiled from the rules: egress rules in the output
hook of the sender's interface, ingress rules in the input hook of the receiver's; a rule naming a
group matches the addresses of that group's members (a set); replies of an allowed connection
pass (``ct state established,related``); everything else is dropped, in both directions. The
connection attempts a filter or a router drops are recorded (dynamic sets) and reported.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from .netns import Namespace, Namespaces
from .security_groups import GroupRule, NetworkFacts

DEFAULT_VPC = IPv4Network("10.20.0.0/16")
DEFAULT_SUBNETS = (IPv4Network("10.20.0.0/20"), IPv4Network("10.20.16.0/20"))
LAMBDA_NETWORK = IPv4Network("100.64.0.0/24")
"""Lambda's own network, where a function not attached to a VPC runs (it reaches the internet)."""
PUBLIC_API_NETWORK = IPv4Network("52.82.208.0/24")
"""Public-looking addresses for the regional APIs (AWS China, Ningxia); they exist only in the
run's `internet` namespace."""
ENI = "eni0"
OUTSIDE = "eth0"
"""The interface of a function on Lambda's own network."""
HTTPS_PORT = 443
TABLE = "security_groups"
ROUTER_TABLE = "router"
ROLES = ("function", "migration", "database", "endpoints", "vpc", "internet")
PROXY = "proxy"
ENI_ROLES = ("function", "migration", "database", "endpoints", PROXY)
"""The namespaces that hold network interfaces of the VPC (the proxy's only with ``db_proxy``)."""
RELAY_CONNECT_S = 3.0
"""How long the proxy's stand-in waits to reach the database before it closes the client's connection."""


@dataclass(frozen=True)
class Eni:
    """A network interface in the VPC: whose it is, the namespace it is in, its address and groups."""

    name: str
    namespace: str
    address: str
    groups: tuple[str, ...]
    subnet: int


@dataclass(frozen=True)
class Layout:
    """Every address of the rehearsed network, for one stage."""

    vpc: IPv4Network
    subnets: tuple[IPv4Network, ...]
    enis: tuple[Eni, ...]
    function_attached: bool
    outside_address: str
    """The function's address on Lambda's own network (when it is not attached)."""
    endpoints: Mapping[str, str]
    """Service -> its interface endpoint's address (only the endpoints of this stage)."""
    public: Mapping[str, str]
    """Service -> its public address."""
    hostnames: Mapping[str, str]
    """Service -> the name its SDK client connects to."""
    db_host: str
    db_port: int
    proxy_host: str | None = None
    """The RDS Proxy's endpoint name, with `db_proxy` (the job's DB_HOST)."""
    proxy_port: int = 3306

    @property
    def roles(self) -> tuple[str, ...]:
        """The run's namespaces: the proxy's only when there is one."""
        return ROLES + ((PROXY,) if self.in_namespace(PROXY) else ())

    def router(self, subnet: int) -> str:
        return str(self.subnets[subnet][1])

    @property
    def database(self) -> Eni:
        return next(e for e in self.enis if e.namespace == "database")

    def members(self) -> dict[str, list[str]]:
        """Group -> the addresses of its members."""
        found: dict[str, list[str]] = {}
        for eni in self.enis:
            for group in eni.groups:
                found.setdefault(group, []).append(eni.address)
        return found

    def in_namespace(self, namespace: str) -> list[Eni]:
        return [e for e in self.enis if e.namespace == namespace]

    def hosts(self, namespace: str) -> dict[str, str]:
        """Name -> address, as a function in ``namespace`` resolves them."""
        attached = bool(self.in_namespace(namespace))
        names = {self.db_host: self.database.address}
        if self.proxy_host is not None:
            names[self.proxy_host] = self.in_namespace(PROXY)[0].address
        for service, hostname in self.hostnames.items():
            names[hostname] = self.endpoints[service] if attached and service in self.endpoints \
                else self.public[service]
        return names


def plan_layout(stage_facts: NetworkFacts, design: NetworkFacts, db_host: str, hostnames: Mapping[str, str],
                subnets: Sequence[IPv4Network] = DEFAULT_SUBNETS, vpc: IPv4Network = DEFAULT_VPC,
                proxy_host: str | None = None) -> Layout:
    """The addresses for a stage: the function's ENI only when it is attached; one endpoint ENI per
    endpoint of the stage; the migration function attached with the design's groups for it; the
    proxy's ENI when the design has a proxy (`proxy_host`: its endpoint name)."""
    first, second = subnets[0], subnets[1 % len(subnets)]
    second_index = 1 % len(subnets)
    enis = []
    if stage_facts.function_attached:
        enis.append(Eni("function", "function", str(first[10]), stage_facts.function_security_groups, 0))
    enis.append(Eni("migration", "migration", str(second[10]),
                    design.migration_security_groups or design.function_security_groups, second_index))
    enis.append(Eni("database", "database", str(second[20]), stage_facts.database_security_groups, second_index))
    if design.proxy_security_groups:
        enis.append(Eni(PROXY, PROXY, str(first[40]), design.proxy_security_groups, 0))
    endpoints = {}
    slots = [e.service for e in design.endpoints]  # an endpoint keeps its address in every stage
    for endpoint in (e for e in stage_facts.endpoints if e.private_dns and e.subnets):
        address = str(first[30 + (slots.index(endpoint.service) if endpoint.service in slots else len(slots))])
        endpoints[endpoint.service] = address
        enis.append(Eni(f"endpoint-{endpoint.service}", "endpoints", address, endpoint.security_groups, 0))
    public = {service: str(PUBLIC_API_NETWORK[11 + index]) for index, service in enumerate(hostnames)}
    return Layout(vpc=vpc, subnets=tuple(subnets), enis=tuple(enis),
                  function_attached=stage_facts.function_attached, outside_address=str(LAMBDA_NETWORK[10]),
                  endpoints=endpoints, public=public, hostnames=dict(hostnames), db_host=db_host,
                  db_port=stage_facts.database_port, proxy_host=proxy_host if design.proxy_security_groups else None,
                  proxy_port=design.proxy_port)


# --------------------------------------------------------------------------- filters (pure)


def set_name(group: str) -> str:
    return "sg_" + re.sub(r"[^A-Za-z0-9_]", "_", group)


def _elements(addresses: Iterable[str]) -> str:
    listed = sorted(set(addresses), key=ipaddress.ip_address)
    return f"elements = {{ {', '.join(listed)} }}" if listed else ""


def _match(rule: GroupRule) -> str:
    if rule.protocol == "-1":
        return ""
    ports = str(rule.from_port) if rule.from_port == rule.to_port else f"{rule.from_port}-{rule.to_port}"
    return f" {rule.protocol} dport {ports}"


def _peer(rule: GroupRule, direction: str) -> str:
    field_name = "daddr" if direction == "egress" else "saddr"
    return f"ip {field_name} {rule.peer if rule.peer_is_cidr else '@' + set_name(rule.peer)}"


def _comment(rule: GroupRule) -> str:
    return json.dumps(f"{rule}: {rule.purpose}"[:120])


def security_group_ruleset(enis: Sequence[Eni], interface: str, members: Mapping[str, Sequence[str]],
                           rules: Sequence[GroupRule]) -> str:
    """The nftables table of one namespace holding ``enis`` on ``interface``: the security-group
    rules of their groups, stateful, allow-only, default deny in both directions; connection
    attempts dropped are recorded in the sets ``dropped_egress`` and ``dropped_ingress``."""
    groups = sorted({group for eni in enis for group in eni.groups} | set(members)
                    | {rule.peer for rule in rules if not rule.peer_is_cidr})
    lines = [f"table inet {TABLE} {{"]
    for group in groups:
        lines += [f"  set {set_name(group)} {{", "    type ipv4_addr", f"    {_elements(members.get(group, ()))}",
                  "  }"]
    for direction in ("egress", "ingress"):
        lines += [f"  set dropped_{direction} {{", "    type ipv4_addr . ipv4_addr . inet_service", "    flags dynamic",
                  "  }"]
    for direction, hook, iface, own in (("egress", "output", "oifname", "saddr"),
                                        ("ingress", "input", "iifname", "daddr")):
        lines += [f"  chain {direction} {{", f"    type filter hook {hook} priority filter; policy drop;",
                  f'    {iface} "lo" accept', "    ct state established,related accept"]
        for rule in rules:
            if rule.direction != direction:
                continue
            local = [eni.address for eni in enis if rule.group in eni.groups]
            if not local:
                continue
            lines.append(f'    {iface} "{interface}" ip {own} {{ {", ".join(local)} }} {_peer(rule, direction)}'
                         f"{_match(rule)} accept comment {_comment(rule)}")
        lines += [f"    tcp flags & (syn | ack) == syn add @dropped_{direction} {{ ip saddr . ip daddr . tcp dport }}",
                  "  }"]
    lines.append("}")
    return "\n".join(line for line in lines if line.strip()) + "\n"


def router_ruleset() -> str:
    """A router's record of the connection attempts it drops for want of a route."""
    return "\n".join([
        f"table inet {ROUTER_TABLE} {{",
        "  set no_route {", "    type ipv4_addr . ipv4_addr . inet_service", "    flags dynamic", "  }",
        "  chain prerouting {",
        "    type filter hook prerouting priority filter; policy accept;",
        "    tcp flags & (syn | ack) == syn fib daddr type != local fib daddr oif missing "
        "add @no_route { ip saddr . ip daddr . tcp dport }",
        "  }",
        "}",
    ]) + "\n"


def hosts_file(names: Mapping[str, str]) -> str:
    lines = ["127.0.0.1 localhost"] + [f"{address} {name}" for name, address in names.items()]
    return "\n".join(lines) + "\n"


# A name outside the hosts file fails at once (nothing answers DNS on the namespace's loopback)
# instead of waiting on a resolver the namespace cannot reach.
RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"


def api_hostname(service: str, region: str) -> str:
    """The host name the SDK connects to for ``service`` in ``region`` (the name the interface
    endpoint's private DNS answers for)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(ignore_configured_endpoint_urls=True))
    return str(urlparse(client.meta.endpoint_url).hostname)


# --------------------------------------------------------------------------- the network


@dataclass
class PacketNetwork:
    layout: Layout
    rules: tuple[GroupRule, ...]
    namespaces: dict[str, Namespace] = field(default_factory=dict)

    @classmethod
    def build(cls, made: Namespaces, layout: Layout, rules: Sequence[GroupRule]) -> PacketNetwork:
        """Make the namespaces, links, addresses, routes, filters and name files; on a failure,
        what was made is removed when ``made`` is closed."""
        network = cls(layout, tuple(rules))
        ns = network.namespaces
        for role in layout.roles:
            ns[role] = made.add(role)
        for namespace in ns.values():
            namespace.sysctl("net.ipv6.conf.all.disable_ipv6", "1")
            namespace.sysctl("net.ipv6.conf.default.disable_ipv6", "1")

        vpc = ns["vpc"]
        for index, network_of_subnet in enumerate(layout.subnets):
            bridge = f"subnet{index}"
            vpc.ip("link", "add", "name", bridge, "type", "bridge")
            vpc.ip("addr", "add", f"{layout.router(index)}/{network_of_subnet.prefixlen}", "dev", bridge)
            vpc.ip("link", "set", "dev", bridge, "up")
        for role in ENI_ROLES:
            enis = layout.in_namespace(role)
            if not enis:
                continue
            subnet = enis[0].subnet
            made.veth(ns[role], ENI, vpc, role)
            vpc.ip("link", "set", "dev", role, "master", f"subnet{subnet}", "up")
            for eni in enis:
                ns[role].ip("addr", "add", f"{eni.address}/{layout.subnets[subnet].prefixlen}", "dev", ENI)
            ns[role].ip("link", "set", "dev", ENI, "up")
            # The subnet's route table: the VPC router is the gateway; it drops what it cannot route.
            ns[role].ip("route", "add", "default", "via", layout.router(subnet))
        vpc.sysctl("net.ipv4.ip_forward", "1")
        vpc.ip("route", "add", "blackhole", "default")

        internet = ns["internet"]
        for address in layout.public.values():  # the APIs' public addresses are local to the internet
            internet.ip("addr", "add", f"{address}/32", "dev", "lo")
        if not layout.function_attached:
            made.veth(ns["function"], OUTSIDE, internet, "lambda")
            internet.ip("addr", "add", f"{LAMBDA_NETWORK[1]}/{LAMBDA_NETWORK.prefixlen}", "dev", "lambda")
            internet.ip("link", "set", "dev", "lambda", "up")
            ns["function"].ip("addr", "add", f"{layout.outside_address}/{LAMBDA_NETWORK.prefixlen}", "dev", OUTSIDE)
            ns["function"].ip("link", "set", "dev", OUTSIDE, "up")
            ns["function"].ip("route", "add", "default", "via", str(LAMBDA_NETWORK[1]))
        internet.sysctl("net.ipv4.ip_forward", "1")
        internet.ip("route", "add", "blackhole", "default")

        members = layout.members()
        for role in ENI_ROLES:
            enis = layout.in_namespace(role)
            if enis:
                ns[role].nft(security_group_ruleset(enis, ENI, members, network.rules))
        for router in ("vpc", "internet"):
            ns[router].nft(router_ruleset())
        for role in ("function", "migration"):
            ns[role].write_etc("hosts", hosts_file(layout.hosts(role)))
            ns[role].write_etc("resolv.conf", RESOLV_CONF)
        return network

    def describe(self) -> list[str]:
        """The layout, for the rehearsal's output."""
        layout = self.layout
        prefix = self.namespaces["vpc"].name.rsplit("-", 1)[0]
        subnets = " and ".join(str(s) for s in layout.subnets)
        lines = [f"namespaces {prefix}-{{{','.join(layout.roles)}}} (removed at the end)",
                 f"VPC {layout.vpc}: subnets {subnets} joined by the VPC router; its route table has only the "
                 "local route (no internet gateway, no NAT)"]
        for eni in layout.enis:
            what = {"database": f"MariaDB on {layout.db_port}", "function": "the job function",
                    "migration": "the schema-migration function",
                    PROXY: f"RDS Proxy ({layout.proxy_host}): a relay on {layout.proxy_port} to the database"
                    }.get(eni.name, "")
            if eni.name.startswith("endpoint-"):
                service = eni.name.split("-", 1)[1]
                what = f"interface endpoint for {service} ({layout.hostnames.get(service, service)})"
            lines.append(f"  {eni.name:<26} {eni.address:<13} {', '.join(eni.groups) or '-':<12} {what}")
        if not layout.function_attached:
            lines.append(f"  {'function':<26} {layout.outside_address:<13} {'-':<12} not attached: Lambda's own "
                         "network, no security group, no route to the VPC's subnets")
        public = ", ".join(f"{s} {a}" for s, a in layout.public.items())
        lines.append(f"public API addresses (outside the VPC, the VPC has no route to them): {public}")
        for role in ("function", "migration"):
            names = ", ".join(f"{name} -> {address}" for name, address in layout.hosts(role).items())
            lines.append(f"names in the {role}'s namespace (/etc/netns/.../hosts): {names}")
        return lines

    def dropped(self) -> list[str]:
        """The connection attempts dropped so far: where, and from which address to which port."""
        found = []
        for role in ENI_ROLES:
            if not self.layout.in_namespace(role):
                continue
            for direction in ("egress", "ingress"):
                for source, destination, port in self._elements(role, TABLE, f"dropped_{direction}"):
                    found.append(f"{role} {direction} {source} > {destination}:{port}")
        for router in ("vpc", "internet"):
            for source, destination, port in self._elements(router, ROUTER_TABLE, "no_route"):
                found.append(f"{router} no-route {source} > {destination}:{port}")
        return found

    def _elements(self, role: str, table: str, name: str) -> list[tuple[str, str, int]]:
        listed = self.namespaces[role].nft_list("set", "inet", table, name)
        elements: list[tuple[str, str, int]] = []
        for item in listed.get("nftables", []):
            for element in item.get("set", {}).get("elem", []):
                value = element.get("elem", {}).get("val", element) if isinstance(element, dict) else element
                concat = value.get("concat") if isinstance(value, dict) else None
                if concat and len(concat) == 3:
                    elements.append((str(concat[0]), str(concat[1]), int(concat[2])))
        return sorted(elements)


# --------------------------------------------------------------------------- the AWS APIs over HTTPS


class _HttpsWsgiServer(socketserver.ThreadingMixIn, WSGIServer):
    """A WSGI server (the standard library's) answering TLS, a thread per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, _QuietHandler)

    def server_bind(self) -> None:
        # As HTTPServer.server_bind, without its reverse look-up of the host name (no resolver
        # answers inside the namespace).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", int(self.server_address[1])
        self.setup_environ()
        self.base_environ["wsgi.url_scheme"] = "https"

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = self.socket.accept()
        # The handshake happens in the connection's own thread (on its first read), not here.
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (a timed-out attempt) is not an error of the stand-in


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class AwsFront:
    """The stand-in AWS APIs (moto, sharing the state of ``AwsEmulator`` in this process) served
    over HTTPS on port 443 at every address of a namespace, with a certificate for the APIs' names."""

    def __init__(self, namespace: Namespace, cert: Path, key: Path) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        def listen() -> _HttpsWsgiServer:
            server = _HttpsWsgiServer(("0.0.0.0", HTTPS_PORT), context)
            server.set_app(DomainDispatcherApplication(create_backend_app))
            return server

        self.namespace = namespace
        self._server = namespace.call(listen)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"aws-front-{namespace.role}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class TcpRelay:
    """The RDS Proxy's stand-in: accepts connections at ``listen`` inside ``namespace`` and joins each
    to a connection it opens, from the same namespace, to ``upstream`` (so the second hop leaves
    from the proxy's address and meets the filters); a client whose upstream cannot be reached in
    ``RELAY_CONNECT_S`` is disconnected."""

    def __init__(self, namespace: Namespace, listen: tuple[str, int], upstream: tuple[str, int]) -> None:
        self.namespace = namespace
        self.upstream = upstream
        self._server = namespace.call(lambda: socket.create_server(listen))
        self._server.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"relay-{namespace.role}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._join, args=(client,), daemon=True).start()

    def _join(self, client: socket.socket) -> None:
        try:
            server = self.namespace.call(lambda: socket.create_connection(self.upstream, timeout=RELAY_CONNECT_S))
        except OSError:
            client.close()
            return
        server.settimeout(None)
        for source, target in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()
        self._thread.join(timeout=5)


def read_dropped(network: PacketNetwork) -> list[str]:
    """What was dropped, or a note when it cannot be read (the run is ending anyway)."""
    try:
        return network.dropped()
    except Exception as exc:  # never hide the rehearsal's own outcome behind this report
        return [f"(dropped packets not readable: {exc})"]


def model_subnets(resources: Iterable[Any]) -> tuple[IPv4Network, tuple[IPv4Network, ...]]:
    """The VPC and subnets the stack creates (`PrivateVpc`), or the defaults when it brings its own."""
    vpc = DEFAULT_VPC
    subnets = []
    for resource in resources:
        cidr = resource.inputs.get("cidrBlock")
        if resource.type == "aws:ec2/vpc:Vpc" and cidr:
            vpc = IPv4Network(cidr)
        elif resource.type == "aws:ec2/subnet:Subnet" and cidr:
            subnets.append(IPv4Network(cidr))
    with contextlib.suppress(ValueError):
        if len(subnets) >= 2 and all(s.subnet_of(vpc) and s.num_addresses >= 64 for s in subnets):
            return vpc, tuple(sorted(subnets)[:2])
    return DEFAULT_VPC, DEFAULT_SUBNETS
