"""First start and every start: the data directory, its master key, CA, account and AWS files.

Edge module (file I/O). On an empty data directory it creates, in this order: the master key
(mode 0600), the local CA and a server certificate, the SQLite store (migrations applied), one
account, the IAM user ``admin`` with one access key, and ``aws/config`` + ``aws/credentials`` in
the AWS CLI's formats. Later starts reuse all of it; only the server certificate is re-issued when
it no longer covers the configured names or is close to expiry, and ``aws/config`` is rewritten with
the port actually listened on.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from hadron import pki
from hadron.keys import MasterKeyRing
from hadron.store import SqlStore, open_store
from hadron.store.masterkey import load_or_create_ring, read_ring
from hadron.store.records import AccessKey

__all__ = [
    "DataDir",
    "Prepared",
    "aws_client_env",
    "create_account",
    "endpoint_certificate",
    "open_data_dir",
    "prepare",
    "record_endpoint",
    "reset_admin_key",
    "write_aws_files",
]

ADMIN_USER = "admin"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
META_ACCOUNT = "bootstrap.account_id"
META_ADMIN_KEY = "bootstrap.admin_access_key_id"
META_ENDPOINT = "server.endpoint"
META_REGION = "server.region"
META_OWN_CA = "server.own_ca"


@dataclass(frozen=True, slots=True)
class DataDir:
    root: Path

    @property
    def master_key(self) -> Path:
        return self.root / "master.key"

    @property
    def tls(self) -> Path:
        return self.root / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.tls / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.tls / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.tls / "server-key.pem"

    @property
    def database(self) -> Path:
        return self.root / "hadron.db"

    @property
    def aws_config(self) -> Path:
        return self.root / "aws" / "config"

    @property
    def aws_credentials(self) -> Path:
        return self.root / "aws" / "credentials"

    @property
    def audit(self) -> Path:
        return self.root / "audit"


@dataclass(frozen=True, slots=True)
class Prepared:
    data: DataDir
    store: SqlStore
    account_id: str
    cert_file: Path
    key_file: Path


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _cert_is_usable(path: Path, names: Sequence[str], now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    if cert.not_valid_after_utc - now < timedelta(days=30):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(names) <= set(san.get_values_for_type(x509.DNSName))


def _ensure_tls(data: DataDir, regions: Sequence[str], host: str, now: datetime) -> None:
    if not data.ca_cert.exists() or not data.ca_key.exists():
        ca = pki.create_ca(now=now)
        _write_private(data.ca_key, ca.private_key_pem)
        _write_private(data.ca_cert, ca.certificate_pem)
        data.server_cert.unlink(missing_ok=True)
    names = pki.default_hostnames(regions)
    if host not in ("127.0.0.1", "::1", "0.0.0.0", "::", "localhost") and host not in names:  # noqa: S104
        names.append(host)
    if not _cert_is_usable(data.server_cert, names, now) or not data.server_key.exists():
        ca = pki.KeyPair(data.ca_cert.read_bytes(), data.ca_key.read_bytes())
        server = pki.create_server_certificate(ca, hostnames=names, now=now)
        _write_private(data.server_key, server.private_key_pem)
        _write_private(data.server_cert, server.certificate_pem)


def endpoint_certificate(
    data: DataDir, regions: Sequence[str], address: str, now: datetime
) -> tuple[Path, Path]:
    """A certificate for one VPC endpoint listener, issued by the local CA: the server
    certificate's names (including ``*.<service>.<region>.vpce.amazonaws.com``) plus the
    listener's own address as an IP SAN (IP SANs cannot be wildcards, and the pool is too large
    to list). Written to ``tls/endpoints/<address>.pem`` (and ``-key.pem``), mode 0600."""
    ca = pki.KeyPair(data.ca_cert.read_bytes(), data.ca_key.read_bytes())
    issued = pki.create_server_certificate(
        ca, hostnames=pki.default_hostnames(regions), addresses=(address,), now=now
    )
    cert_file = data.tls / "endpoints" / f"{address}.pem"
    key_file = data.tls / "endpoints" / f"{address}-key.pem"
    _write_private(key_file, issued.private_key_pem)
    _write_private(cert_file, issued.certificate_pem)
    return cert_file, key_file


def _new_account_id() -> str:
    return secrets.choice("123456789") + "".join(secrets.choice("0123456789") for _ in range(11))


def _admin_key_meta(account_id: str) -> str:
    return f"{META_ADMIN_KEY}.{account_id}"


def create_account(store: SqlStore, account_id: str | None, now: datetime) -> tuple[str, AccessKey]:
    """A new account with IAM user ``admin`` (AWS's AdministratorAccess attached) and one access
    key (what a first start creates)."""
    if account_id is not None and (len(account_id) != 12 or not account_id.isdigit()):
        raise ValueError("--account-id must be 12 digits")
    chosen = account_id or _new_account_id()
    if store.get_account(chosen) is not None:
        raise ValueError(f"account {chosen} already exists")
    store.create_account(chosen, now)
    store.create_user(chosen, ADMIN_USER, "/", now)
    store.attach_user_policy(chosen, ADMIN_USER, ADMIN_POLICY_ARN, now)
    key = store.create_access_key(chosen, ADMIN_USER, now)
    store.set_meta(_admin_key_meta(chosen), key.access_key_id)
    return chosen, key


def reset_admin_key(store: SqlStore, account_id: str, now: datetime) -> AccessKey:
    """Delete the ``admin`` user's access keys and issue a new one."""
    if store.get_user(account_id, ADMIN_USER) is None:
        raise ValueError(f"account {account_id} has no user {ADMIN_USER}")
    for old in store.list_access_keys(account_id, ADMIN_USER):
        store.delete_access_key(old.access_key_id)
    key = store.create_access_key(account_id, ADMIN_USER, now)
    store.set_meta(_admin_key_meta(account_id), key.access_key_id)
    return key


def open_data_dir(root: Path) -> tuple[DataDir, SqlStore]:
    """Open an existing data directory's store (for ``hadron admin``)."""
    data = DataDir(root.resolve())
    if not data.master_key.exists() or not data.database.exists():
        raise ValueError(f"{data.root} is not a Hadron data directory; run `hadron serve` first")
    return data, _open(data, read_ring(data.master_key))


def _open(data: DataDir, ring: MasterKeyRing) -> SqlStore:
    return open_store(
        f"sqlite:///{data.database}", ring, ring_source=lambda: read_ring(data.master_key)
    )


def prepare(
    root: Path,
    *,
    regions: Sequence[str],
    host: str,
    now: datetime,
    account_id: str | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> Prepared:
    """Create what is missing in the data directory and open the store."""
    data = DataDir(root.resolve())
    data.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    ring = load_or_create_ring(data.master_key)
    if tls_cert is None:
        _ensure_tls(data, regions, host, now)
        cert_file, key_file = data.server_cert, data.server_key
    else:
        if tls_key is None:
            raise ValueError("--tls-cert needs --tls-key")
        cert_file, key_file = tls_cert, tls_key
    store = _open(data, ring)
    existing = store.get_meta(META_ACCOUNT)
    if existing is None:
        existing, _key = create_account(store, account_id, now)
        store.set_meta(META_ACCOUNT, existing)
    elif account_id is not None and account_id != existing:
        raise ValueError(
            f"this data directory already holds account {existing}; --account-id {account_id} "
            "applies only to a new data directory"
        )
    return Prepared(data, store, existing, cert_file, key_file)


def record_endpoint(store: SqlStore, *, region: str, host: str, port: int, own_ca: bool) -> None:
    """Remember where the server listens, for ``hadron admin`` rewriting the AWS files."""
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    store.set_meta(META_ENDPOINT, f"https://{shown_host}:{port}")
    store.set_meta(META_REGION, region)
    store.set_meta(META_OWN_CA, "1" if own_ca else "0")


def aws_client_env(data: DataDir, store: SqlStore) -> dict[str, str]:
    """Environment variables that point an AWS CLI or SDK at this server (its recorded
    endpoint and, when it serves its own CA's certificate, that CA): for provisioning builds."""
    out: dict[str, str] = {}
    endpoint = store.get_meta(META_ENDPOINT)
    if endpoint is not None:
        out["AWS_ENDPOINT_URL"] = endpoint
    if store.get_meta(META_OWN_CA) == "1":
        out["AWS_CA_BUNDLE"] = str(data.ca_cert)
    return out


def write_aws_files(data: DataDir, store: SqlStore) -> None:
    """Write ``aws/config`` and ``aws/credentials`` from the store: profile ``default`` for the
    first account, ``account-<id>`` for every account added with ``hadron admin``."""
    endpoint = store.get_meta(META_ENDPOINT)
    region = store.get_meta(META_REGION) or "us-east-1"
    first = store.get_meta(META_ACCOUNT)
    if endpoint is None or first is None:
        return
    ca_line = f"ca_bundle = {data.ca_cert}\n" if store.get_meta(META_OWN_CA) == "1" else ""
    settings = f"region = {region}\nendpoint_url = {endpoint}\n{ca_line}"
    config: list[str] = []
    credentials: list[str] = []
    accounts = sorted(store.list_accounts(), key=lambda a: (a.account_id != first, a.created_at))
    for account in accounts:
        akid = store.get_meta(_admin_key_meta(account.account_id))
        key = store.get_access_key(akid) if akid else None
        if key is None:
            continue
        name = "default" if account.account_id == first else f"account-{account.account_id}"
        config.append(f"[{'default' if name == 'default' else 'profile ' + name}]\n{settings}")
        credentials.append(
            f"[{name}]\naws_access_key_id = {key.access_key_id}\n"
            f"aws_secret_access_key = {key.secret}\n"
        )
    _write_private(data.aws_config, "\n".join(config).encode())
    _write_private(data.aws_credentials, "\n".join(credentials).encode())
