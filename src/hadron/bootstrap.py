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
from hadron.store import SqlStore, open_store
from hadron.store.masterkey import load_or_create_ring

__all__ = ["DataDir", "Prepared", "prepare", "write_aws_files"]

ADMIN_USER = "admin"
META_ACCOUNT = "bootstrap.account_id"
META_ADMIN_KEY = "bootstrap.admin_access_key_id"


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
    admin_access_key_id: str
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


def _new_account_id() -> str:
    return secrets.choice("123456789") + "".join(secrets.choice("0123456789") for _ in range(11))


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
    store = open_store(f"sqlite:///{data.database}", ring)
    existing = store.get_meta(META_ACCOUNT)
    if existing is None:
        if account_id is not None and (len(account_id) != 12 or not account_id.isdigit()):
            raise ValueError("--account-id must be 12 digits")
        chosen = account_id or _new_account_id()
        store.create_account(chosen, now)
        store.create_user(chosen, ADMIN_USER, "/", now)
        key = store.create_access_key(chosen, ADMIN_USER, now)
        store.set_meta(META_ADMIN_KEY, key.access_key_id)
        store.set_meta(META_ACCOUNT, chosen)
        existing = chosen
    elif account_id is not None and account_id != existing:
        raise ValueError(
            f"this data directory already holds account {existing}; --account-id {account_id} "
            "applies only to a new data directory"
        )
    admin_key = store.get_meta(META_ADMIN_KEY) or ""
    return Prepared(data, store, existing, admin_key, cert_file, key_file)


def write_aws_files(prepared: Prepared, *, region: str, host: str, port: int) -> None:
    """Write ``aws/config`` (endpoint and CA) and, if missing, ``aws/credentials``."""
    data = prepared.data
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    config = f"[default]\nregion = {region}\nendpoint_url = https://{shown_host}:{port}\n"
    if prepared.cert_file == data.server_cert:
        # Our own CA signed the certificate; an operator's certificate chains to their CA.
        config += f"ca_bundle = {data.ca_cert}\n"
    _write_private(data.aws_config, config.encode())
    if not data.aws_credentials.exists():
        key = prepared.store.get_access_key(prepared.admin_access_key_id)
        if key is None:
            return
        creds = (
            "[default]\n"
            f"aws_access_key_id = {key.access_key_id}\n"
            f"aws_secret_access_key = {key.secret}\n"
        )
        _write_private(data.aws_credentials, creds.encode())
