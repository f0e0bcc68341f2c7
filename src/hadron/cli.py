"""The ``hadron`` command: serve, env, admin, bundle put, audit verify.

Edge module (layer 1): parses arguments and wires the parts together (the composition root);
no logic of its own.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shlex
import ssl
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hadron import __version__
from hadron.app import HadronApp
from hadron.auditlog import AuditLog, verify_directory
from hadron.authzmessage import encode as encode_failure
from hadron.bootstrap import (
    DataDir,
    aws_client_env,
    create_account,
    endpoint_certificate,
    open_data_dir,
    prepare,
    record_endpoint,
    reset_admin_key,
    write_aws_files,
)
from hadron.credentials import CredentialResolver, SessionKeys, UsageRecorder
from hadron.dns_responder import DnsResponder
from hadron.ec2.addresses import DEFAULT_POOL, parse_pool
from hadron.ec2.endpoints import EndpointsApi
from hadron.ec2.network import NetworkApi
from hadron.endpoint_listeners import ListenerManager
from hadron.enforcement import PolicyAuthorizer
from hadron.gateway import Gateway
from hadron.iam.account import AccountApi
from hadron.iam.api import IamApi
from hadron.iam.groups import GroupsApi
from hadron.iam.mfa import MfaApi
from hadron.iam.profiles import InstanceProfilesApi
from hadron.iam.roles import RolesApi
from hadron.iam.simulator import IamSimulator
from hadron.listeners import TLS_VERSIONS, ListenerConfig, Runtime, build_ssl_context, serve
from hadron.proton.api import ProtonApi
from hadron.proton.provisioner import PROTON_SERVICE, Provisioner
from hadron.proton.quotas import Quotas
from hadron.proton.registrar import Registrar
from hadron.proton.sources import (
    BundleSource,
    FirstFound,
    LocalBuckets,
    S3Buckets,
    parse_s3_url,
)
from hadron.store.masterkey import rotate_ring_file
from hadron.sts import StsApi
from hadron.vpce_policies import EndpointPolicyCache

__all__ = ["main"]

# Environment variables that take precedence over the generated config/credentials files.
_OVERRIDING_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CA_BUNDLE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_PROTON",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


META_DNS = "dns.public_resolver"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _offset_clock(path: Path) -> Callable[[], datetime]:
    """``_utcnow`` plus the seconds written in ``path`` (0 when absent or unreadable)."""

    def clock() -> datetime:
        try:
            offset = float(path.read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
        return _utcnow() + timedelta(seconds=offset)

    return clock


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hadron", description="A self-hosted AWS Proton.")
    parser.add_argument("--version", action="version", version=f"hadron {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="start the HTTPS API server")
    s.add_argument("--data-dir", type=Path, default=Path(".hadron"))
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    s.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help="a region to serve (repeatable; default us-east-1)",
    )
    s.add_argument("--tls-min-version", choices=sorted(TLS_VERSIONS), default="1.2")
    s.add_argument("--tls-cert", type=Path, help="operator certificate chain (PEM)")
    s.add_argument("--tls-key", type=Path, help="operator private key (PEM)")
    s.add_argument("--account-id", help="12-digit id of the first account (new data dirs only)")
    s.add_argument("--max-skew", type=int, default=300, help="allowed clock skew, seconds")
    s.add_argument("--max-body-bytes", type=int, default=1 << 20)
    s.add_argument("--header-timeout", type=float, default=10.0, help="seconds for headers")
    s.add_argument("--body-timeout", type=float, default=30.0, help="seconds for a body")
    s.add_argument("--log-level", default="WARNING")
    s.add_argument(
        "--endpoint-address-pool",
        default=DEFAULT_POOL,
        help="IPv4 network for VPC endpoint interfaces and VPC resolvers (default %(default)s)",
    )
    # For black-box tests only: the API clock runs ahead by the number of seconds written in
    # this file (re-read on every request), so session expiry is testable without sleeping.
    s.add_argument("--clock-offset-file", type=Path, help=argparse.SUPPRESS)
    s.add_argument(
        "--proton-max-templates", type=int, default=100, help="Proton templates per account"
    )
    s.add_argument(
        "--bundle-s3-endpoint",
        metavar="URL",
        help="an S3-compatible endpoint to fetch template bundles from (after DATA/buckets); "
        "credentials from HADRON_BUNDLE_S3_ACCESS_KEY_ID / HADRON_BUNDLE_S3_SECRET_ACCESS_KEY",
    )
    s.add_argument("--bundle-s3-region", default="us-east-1", help="region to sign for")
    s.add_argument("--bundle-s3-ca-bundle", metavar="PEM", help="CA bundle for an https endpoint")
    s.add_argument(
        "--proton-max-template-versions",
        type=int,
        default=500,
        help="Proton versions per template",
    )
    s.add_argument(
        "--endpoint-port",
        type=int,
        help="port of the VPC endpoint listeners (default: the public listener's port)",
    )
    s.add_argument(
        "--proxy-protocol",
        action="store_true",
        help="every listener requires a PROXY protocol v2 header before TLS",
    )
    s.add_argument(
        "--dns-port",
        type=int,
        default=8053,
        help="UDP port of the DNS responder (public on --host, each VPC's on its resolver "
        "address; 0 picks a free port, -1 turns it off; default %(default)s)",
    )
    s.add_argument(
        "--proton-max-environments", type=int, default=100, help="Proton environments per account"
    )
    s.add_argument(
        "--proton-max-account-connections",
        type=int,
        default=5,
        help="Proton environment account connections per environment account",
    )
    s.add_argument(
        "--proton-max-components",
        type=int,
        default=100,
        help="Proton directly defined components per account",
    )
    s.add_argument(
        "--proton-max-services", type=int, default=1000, help="Proton services per account"
    )
    s.add_argument(
        "--proton-max-instances-per-service",
        type=int,
        default=20,
        help="Proton service instances per service",
    )
    s.add_argument(
        "--proton-build-timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long a provisioning build may run before it is stopped and fails",
    )

    dns = sub.add_parser("dns", help="the built-in DNS responder")
    dnssub = dns.add_subparsers(dest="dns_command", required=True)
    dr = dnssub.add_parser("resolver", help="print a resolver's address:port")
    dr.add_argument("--vpc-id", help="the VPC whose resolver to print (default: the public one)")
    dr.add_argument("--data-dir", type=Path, default=Path(".hadron"))

    e = sub.add_parser("env", help="print the exports that point the AWS CLI and SDKs here")
    e.add_argument("--data-dir", type=Path, default=Path(".hadron"))

    adm = sub.add_parser("admin", help="administration that the IAM API cannot do")
    admsub = adm.add_subparsers(dest="admin_command", required=True)
    ca = admsub.add_parser(
        "create-account",
        help="create an account with IAM user admin and one access key",
        description="Create an account with IAM user admin and one access key. The key is added "
        "to aws/credentials as profile account-<id> (and to aws/config once the server has run).",
    )
    ca.add_argument("--account-id", help="12 digits; random if omitted")
    admsub.add_parser("list-accounts", help="list the accounts, one per line")
    admsub.add_parser(
        "rotate-master-key",
        help="add a new master key and re-seal every stored secret under it",
        description="Add a new active key to master.key and re-seal every stored secret under "
        "it, in one transaction. Older keys stay in the ring. A running server picks the new "
        "key up by itself.",
    )
    rk = admsub.add_parser(
        "reset-admin-key",
        help="replace the admin user's access keys with a new one",
        description="Delete the access keys of IAM user admin in an account, issue a new one, "
        "and rewrite aws/credentials.",
    )
    rk.add_argument("--account-id", help="the account; the first account if omitted")
    for admin_parser in admsub.choices.values():
        admin_parser.add_argument("--data-dir", type=Path, default=Path(".hadron"))

    b = sub.add_parser("bundle", help="template bundles in the local buckets (DATA/buckets)")
    bsub = b.add_subparsers(dest="bundle_command", required=True)
    bp = bsub.add_parser(
        "put",
        help="copy a template bundle to s3://BUCKET/KEY in the local buckets",
        description="Copy FILE to DATA/buckets/BUCKET/KEY, where template versions whose "
        "source is s3://BUCKET/KEY read it at registration.",
    )
    bp.add_argument("file", type=Path, metavar="FILE")
    bp.add_argument("url", metavar="s3://BUCKET/KEY")
    bp.add_argument("--data-dir", type=Path, default=Path(".hadron"))

    a = sub.add_parser("audit", help="audit log tools")
    asub = a.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="verify the hash chain of the audit log")
    v.add_argument("--data-dir", type=Path, default=Path(".hadron"))
    return parser


def _bundle_source(args: argparse.Namespace, buckets: Path) -> BundleSource:
    local = LocalBuckets(buckets)
    if not args.bundle_s3_endpoint:
        return local
    remote = S3Buckets(
        args.bundle_s3_endpoint,
        region=args.bundle_s3_region,
        access_key_id=os.environ.get("HADRON_BUNDLE_S3_ACCESS_KEY_ID"),
        secret_access_key=os.environ.get("HADRON_BUNDLE_S3_SECRET_ACCESS_KEY"),
        ca_bundle=args.bundle_s3_ca_bundle,
    )
    return FirstFound([local, remote])


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    regions: list[str] = args.regions or ["us-east-1"]
    if (args.tls_cert is None) != (args.tls_key is None):
        print("hadron: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    try:
        pool = parse_pool(args.endpoint_address_pool)
        quotas = Quotas(
            args.proton_max_templates, args.proton_max_template_versions,
            args.proton_max_environments, account_connections=args.proton_max_account_connections,
            components=args.proton_max_components, services=args.proton_max_services,
            instances_per_service=args.proton_max_instances_per_service,
        )  # fmt: skip
        if args.proton_build_timeout <= 0:
            raise ValueError("--proton-build-timeout must be positive")
    except ValueError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 2
    if args.host in ("0.0.0.0", "::", "") and args.endpoint_port in (None, args.port):  # noqa: S104
        print(
            f"hadron: --host {args.host!r} listens on every address, the endpoint "
            "address pool included; give the VPC endpoint listeners their own --endpoint-port",
            file=sys.stderr,
        )
        return 2
    try:
        prepared = prepare(
            args.data_dir,
            regions=regions,
            host=args.host,
            now=_utcnow(),
            account_id=args.account_id,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
        )
    except ValueError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 2
    store = prepared.store
    audit_log = AuditLog(prepared.data.audit, _utcnow)
    usage = UsageRecorder()
    session_keys = SessionKeys(lambda: store.ring, store.reload_ring)
    resolver = CredentialResolver(store, sessions=session_keys)
    endpoint_policies = EndpointPolicyCache(
        lambda endpoint_id: (
            None if (e := store.get_vpc_endpoint(endpoint_id)) is None else e.policy_document
        )
    )
    authorizer = PolicyAuthorizer(
        store,
        endpoint_policy=endpoint_policies.policy,
        encode_failure=lambda message, account: encode_failure(store.ring, message, account),
        related=store,
    )
    own_ca = args.tls_cert is None

    def endpoint_context(_endpoint: object, address: str) -> ssl.SSLContext:
        cert, key = endpoint_certificate(prepared.data, regions, address, _utcnow())
        return build_ssl_context(cert, key, args.tls_min_version)

    endpoint_listeners = ListenerManager(
        store,
        pool,
        host=args.host,
        port=args.endpoint_port,
        proxy_protocol=args.proxy_protocol,
        endpoint_context=endpoint_context if own_ca else None,
    )
    public_address = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104
    dns_responder = (
        None
        if args.dns_port < 0
        else DnsResponder(store, regions=regions, host=args.host, public_address=public_address)
    )

    def endpoints_changed(endpoint_id: str) -> None:
        endpoint_policies.invalidate(endpoint_id)
        try:
            endpoint_listeners.sync(endpoint_id)
        finally:
            endpoint_policies.invalidate(endpoint_id)
            if dns_responder is not None:
                dns_responder.changed(endpoint_id)

    async def ready(runtime: Runtime) -> int | None:
        opened = await endpoint_listeners.start(runtime)
        if dns_responder is not None:
            try:
                dns_port = await dns_responder.start(args.dns_port)
            except OSError as exc:
                raise RuntimeError(f"cannot open the DNS responder: {exc}") from exc
            store.set_meta(META_DNS, f"{public_address}:{dns_port}")
        return opened

    def stopping() -> None:
        endpoint_listeners.close_all()
        if dns_responder is not None:
            dns_responder.close()

    iam_api = IamApi(
        store,
        _utcnow,
        forget_key=resolver.forget,
        policies_changed=authorizer.invalidate,
        user_view=authorizer.cache.user_view,
    )
    registrar = Registrar(store, _bundle_source(args, prepared.data.root / "buckets"), _utcnow)
    clock = _utcnow if args.clock_offset_file is None else _offset_clock(args.clock_offset_file)
    sts_api = StsApi(
        store,
        authorizer,
        session_keys.seal,
        ring=lambda: store.ring,
        service_trust=authorizer,
        mfa=authorizer.mfa,
    )
    provisioner = Provisioner(
        store,
        lambda role, name, now, context: sts_api.assume_role_as_service(
            PROTON_SERVICE, role, name, now=now, context=context
        ),
        clock,
        data_dir=prepared.data.root,
        client_env=lambda: aws_client_env(prepared.data, store),
        bin_dir=str(Path(sys.executable).parent),
        timeout=args.proton_build_timeout,
    )
    gateway = Gateway(
        resolver=resolver,
        authorizer=authorizer,
        extra_handlers=iam_api.handlers()
        | GroupsApi(store, _utcnow, policies_changed=authorizer.invalidate).handlers()
        | RolesApi(store, _utcnow, policies_changed=authorizer.invalidate).handlers()
        | InstanceProfilesApi(store, _utcnow, policies_changed=authorizer.invalidate).handlers()
        | MfaApi(store, _utcnow).handlers()
        | AccountApi(
            store, _utcnow, forget_key=resolver.forget, policies_changed=authorizer.invalidate
        ).handlers()
        | IamSimulator(store, authorizer).handlers(),
        call_handlers=sts_api.call_handlers()
        | NetworkApi(store, pool).handlers()
        | EndpointsApi(store, pool, endpoints_changed=endpoints_changed).handlers()
        | ProtonApi(store, registrar, quotas, provisioner).call_handlers(),
        audit_sink=audit_log.append,
        usage=usage,
        regions=regions,
        clock=_utcnow if args.clock_offset_file is None else _offset_clock(args.clock_offset_file),
        max_skew=timedelta(seconds=args.max_skew),
    )

    def flush_usage() -> None:
        batch = usage.drain()
        if batch:
            store.record_key_usage(batch)

    app = HadronApp(
        gateway,
        flush_audit=audit_log.flush,
        flush_usage=flush_usage,
        max_body_bytes=args.max_body_bytes,
        body_timeout=args.body_timeout,
    )

    def started(port: int) -> None:
        own_ca = prepared.cert_file == prepared.data.server_cert
        record_endpoint(store, region=regions[0], host=args.host, port=port, own_ca=own_ca)
        write_aws_files(prepared.data, store)
        data = prepared.data
        print(
            f"Hadron {__version__} listening on https://{args.host}:{port} "
            f"(account {prepared.account_id}, regions {', '.join(regions)})\n"
            "Point the AWS CLI and SDKs at it with:\n"
            f"  export AWS_CONFIG_FILE={shlex.quote(str(data.aws_config))}\n"
            f"  export AWS_SHARED_CREDENTIALS_FILE={shlex.quote(str(data.aws_credentials))}\n"
            "then try: aws sts get-caller-identity",
            flush=True,
        )

    # Long-lived state (models, caches, store) is built: move it out of the collector's view and
    # let the young generation grow, so per-request garbage is collected less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    listener = ListenerConfig(
        args.host,
        args.port,
        prepared.cert_file,
        prepared.key_file,
        args.tls_min_version,
        args.header_timeout,
        args.body_timeout,
        external_public=args.proxy_protocol,
    )
    registrar.start()
    provisioner.start()
    try:
        serve(app, listener, on_started=started, on_ready=ready, on_stop=stopping)
    except RuntimeError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 1
    finally:
        provisioner.stop()
        registrar.stop()
        audit_log.close()
        store.close()
    return 0


def _dns_resolver(args: argparse.Namespace) -> int:
    try:
        _data, store = open_data_dir(args.data_dir)
    except ValueError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 1
    try:
        public = store.get_meta(META_DNS)
        if public is None:
            print("hadron: the DNS responder has not run in this data directory", file=sys.stderr)
            return 1
        if args.vpc_id is None:
            print(public)
            return 0
        resolvers = dict(store.vpc_resolvers())
        if args.vpc_id not in resolvers:
            print(f"hadron: no VPC {args.vpc_id}", file=sys.stderr)
            return 1
        print(f"{resolvers[args.vpc_id]}:{public.rsplit(':', 1)[1]}")
        return 0
    finally:
        store.close()


def _env(args: argparse.Namespace) -> int:
    data = DataDir(args.data_dir.resolve())
    if not data.aws_config.exists():
        print(f"hadron: no {data.aws_config}; run `hadron serve` once first", file=sys.stderr)
        return 1
    print(f"export AWS_CONFIG_FILE={shlex.quote(str(data.aws_config))}")
    print(f"export AWS_SHARED_CREDENTIALS_FILE={shlex.quote(str(data.aws_credentials))}")
    for name in _OVERRIDING_VARIABLES:
        if name in os.environ:
            print(f"unset {name}  # it would override the files above")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    directory = DataDir(args.data_dir.resolve()).audit
    result = verify_directory(directory)
    if result.ok:
        print(f"audit log OK: {result.records} records verified in {directory}")
        return 0
    print(f"audit log TAMPERED at {result.first_bad}: {result.reason}", file=sys.stderr)
    return 1


def _admin(args: argparse.Namespace) -> int:
    try:
        data, store = open_data_dir(args.data_dir)
    except ValueError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 1
    try:
        command = args.admin_command
        if command == "list-accounts":
            for account in store.list_accounts():
                print(f"{account.account_id}\t{account.created_at:%Y-%m-%dT%H:%M:%SZ}")
            return 0
        if command == "rotate-master-key":
            rotate_ring_file(data.master_key)
            count = store.reseal_secrets()
            print(f"master key rotated; {count} secrets re-sealed under the new key")
            return 0
        if command == "create-account":
            account_id, key = create_account(store, args.account_id, _utcnow())
            write_aws_files(data, store)
            print(
                f"account {account_id} created with IAM user admin, access key {key.access_key_id}"
            )
            print(f"profile: account-{account_id} in {data.aws_credentials}")
            return 0
        target = args.account_id or store.get_meta("bootstrap.account_id") or ""
        key = reset_admin_key(store, target, _utcnow())
        write_aws_files(data, store)
        print(f"account {target}: new admin access key {key.access_key_id}")
        return 0
    except ValueError as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _bundle_put(args: argparse.Namespace) -> int:
    try:
        bucket, key = parse_s3_url(args.url)
        data = args.file.read_bytes()
        path = LocalBuckets(args.data_dir.resolve() / "buckets").put(bucket, key, data)
    except (ValueError, OSError) as exc:
        print(f"hadron: {exc}", file=sys.stderr)
        return 2
    print(f"upload: {args.file} to s3://{bucket}/{key} ({len(data)} bytes, {path})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "env":
        return _env(args)
    if args.command == "admin":
        return _admin(args)
    if args.command == "bundle":
        return _bundle_put(args)
    if args.command == "dns":
        return _dns_resolver(args)
    return _audit_verify(args)


if __name__ == "__main__":
    sys.exit(main())
