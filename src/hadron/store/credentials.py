"""The credentials repository: accounts, IAM users and access keys on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §2 (formats, lifecycle, quota, last-used tracking).

* Every public method is one transaction (``hadron.store.transactions``); an exception inside it
  rolls everything back.
* Secret access keys are sealed with the master-key ring (``hadron.keys.seal``) before they reach
  the database, with associated data naming the access key id, so a sealed secret copied onto
  another key's row does not open. Secrets are opened only when a key is read.
* IAM user names are unique case-insensitively and keep the case they were created with;
  lookups by name are case-insensitive.
* Nonces for sealing always come from ``os.urandom``, even when a test passes a deterministic
  ``rng`` for ids and secrets: a repeated AES-GCM nonce would be catastrophic.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError

from hadron.errors import EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import (
    RNG,
    MasterKeyRing,
    SealError,
    generate_access_key_id,
    generate_secret_access_key,
    generate_unique_id,
    open_sealed,
    seal,
)
from hadron.store import transactions
from hadron.store.records import (
    MAX_ACCESS_KEYS_PER_USER,
    AccessKey,
    AccessKeyStatus,
    Account,
    KeyUsage,
    User,
    user_arn,
    user_from_row,
)
from hadron.store.schema import access_keys, accounts, users

__all__ = ["SqlCredentials", "open_with_fresh_ring", "secret_aad", "user_missing"]

_STATUSES: frozenset[str] = frozenset({"Active", "Inactive"})

_KEY_COLUMNS = (
    access_keys.c.access_key_id,
    access_keys.c.account_id,
    users.c.user_name,
    access_keys.c.status,
    access_keys.c.created_at,
    access_keys.c.secret_sealed,
    access_keys.c.last_used_at,
    access_keys.c.last_used_service,
    access_keys.c.last_used_region,
)


def secret_aad(access_key_id: str) -> bytes:
    """Associated data binding a sealed secret to its access key row."""
    return b"hadron/access-key/" + access_key_id.encode("utf-8")


def _name_key(user_name: str) -> str:
    return user_name.lower()


def user_missing(user_name: str) -> NoSuchEntity:
    """IAM's NoSuchEntity for a user name."""
    return NoSuchEntity(f"The user with name {user_name} cannot be found.")


def open_with_fresh_ring(
    ring: MasterKeyRing, reload: Callable[[], MasterKeyRing | None], sealed: bytes, aad: bytes
) -> bytes:
    """Open a sealed secret; if it was sealed under a key this process has not seen yet
    (`hadron admin rotate-master-key` ran beside it), read the ring again once (``reload``:
    the new ring, or ``None`` if it did not change) and fail closed if that does not help."""
    try:
        return open_sealed(ring, sealed, aad=aad)
    except SealError:
        fresh = reload()
        if fresh is None:
            raise
        return open_sealed(fresh, sealed, aad=aad)


def _key_missing(access_key_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Access Key with id {access_key_id} cannot be found.")


class SqlCredentials:
    """Credential methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine
    _ring: MasterKeyRing

    # --- accounts ---------------------------------------------------------------------------------

    def create_account(self, account_id: str, now: datetime) -> Account:
        if len(account_id) != 12 or not account_id.isdigit():
            raise ValueError("an account id is 12 digits")
        with transactions.write(self._engine) as conn:
            if self._account_exists(conn, account_id):
                raise EntityAlreadyExists(f"Account {account_id} already exists.")
            conn.execute(accounts.insert().values(account_id=account_id, created_at=now))
        return Account(account_id, now)

    def get_account(self, account_id: str) -> Account | None:
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                select(accounts).where(accounts.c.account_id == account_id)
            ).one_or_none()
        return None if row is None else Account(row.account_id, row.created_at)

    def list_accounts(self) -> list[Account]:
        with transactions.read(self._engine) as conn:
            rows = conn.execute(select(accounts).order_by(accounts.c.account_id)).all()
        return [Account(r.account_id, r.created_at) for r in rows]

    @staticmethod
    def _account_exists(conn: Connection, account_id: str) -> bool:
        found = conn.execute(
            select(accounts.c.account_id).where(accounts.c.account_id == account_id)
        ).first()
        return found is not None

    # --- users ------------------------------------------------------------------------------------

    def create_user(
        self,
        account_id: str,
        user_name: str,
        path: str,
        now: datetime,
        rng: RNG = os.urandom,
    ) -> User:
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError("an IAM path starts and ends with '/'")
        user_id = generate_unique_id("AIDA", rng)
        try:
            with transactions.write(self._engine) as conn:
                if not self._account_exists(conn, account_id):
                    raise NoSuchEntity(f"The account {account_id} cannot be found.")
                if self._user_row(conn, account_id, user_name) is not None:
                    raise EntityAlreadyExists(f"User with name {user_name} already exists.")
                conn.execute(
                    users.insert().values(
                        account_id=account_id,
                        user_name_key=_name_key(user_name),
                        user_name=user_name,
                        user_id=user_id,
                        path=path,
                        created_at=now,
                    )
                )
        except IntegrityError:
            # A concurrent writer on a database without BEGIN IMMEDIATE (PostgreSQL) won the race.
            if self.get_user(account_id, user_name) is not None:
                raise EntityAlreadyExists(f"User with name {user_name} already exists.") from None
            raise
        return User(
            account_id=account_id,
            user_name=user_name,
            user_id=user_id,
            path=path,
            arn=user_arn(account_id, path, user_name),
            created_at=now,
        )

    def get_user(self, account_id: str, user_name: str) -> User | None:
        with transactions.read(self._engine) as conn:
            row = self._user_row(conn, account_id, user_name)
        return None if row is None else user_from_row(row)

    @staticmethod
    def _user_row(
        conn: Connection, account_id: str, user_name: str, *, lock: bool = False
    ) -> Row[Any] | None:
        query = select(users).where(
            users.c.account_id == account_id, users.c.user_name_key == _name_key(user_name)
        )
        if lock:
            query = query.with_for_update()
        return conn.execute(query).one_or_none()

    # --- access keys ------------------------------------------------------------------------------

    def create_access_key(
        self, account_id: str, user_name: str, now: datetime, rng: RNG = os.urandom
    ) -> AccessKey:
        """A new ``Active`` key with a fresh secret (returned in plaintext this once)."""
        access_key_id = generate_access_key_id("AKIA", rng)
        secret = generate_secret_access_key(rng)
        sealed = seal(self._ring, secret.encode("ascii"), aad=secret_aad(access_key_id))
        with transactions.write(self._engine) as conn:
            # The row lock serialises concurrent creations for one user (PostgreSQL).
            user = self._user_row(conn, account_id, user_name, lock=True)
            if user is None:
                raise user_missing(user_name)
            count = conn.execute(
                select(func.count())
                .select_from(access_keys)
                .where(
                    access_keys.c.account_id == account_id,
                    access_keys.c.user_name_key == user.user_name_key,
                )
            ).scalar_one()
            if count >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
                )
            conn.execute(
                access_keys.insert().values(
                    access_key_id=access_key_id,
                    account_id=account_id,
                    user_name_key=user.user_name_key,
                    status="Active",
                    created_at=now,
                    secret_sealed=sealed,
                )
            )
        return AccessKey(access_key_id, account_id, user.user_name, "Active", now, secret)

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        """The key and its opened secret, by primary key; ``None`` if unknown.

        Raises ``hadron.keys.SealError`` if the sealed secret does not open (tampered row or a
        key ring missing the key that sealed it): authentication must then fail closed.
        """
        with transactions.read(self._engine) as conn:
            row = conn.execute(
                self._key_query().where(access_keys.c.access_key_id == access_key_id)
            ).one_or_none()
        return None if row is None else self._access_key(row)

    def list_access_keys(self, account_id: str, user_name: str) -> list[AccessKey]:
        with transactions.read(self._engine) as conn:
            if self._user_row(conn, account_id, user_name) is None:
                raise user_missing(user_name)
            rows = conn.execute(
                self._key_query()
                .where(
                    access_keys.c.account_id == account_id,
                    access_keys.c.user_name_key == _name_key(user_name),
                )
                .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
            ).all()
        return [self._access_key(r) for r in rows]

    def set_access_key_status(self, access_key_id: str, status: AccessKeyStatus) -> None:
        if status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        with transactions.write(self._engine) as conn:
            result = conn.execute(
                access_keys.update()
                .where(access_keys.c.access_key_id == access_key_id)
                .values(status=status)
            )
            if result.rowcount != 1:
                raise _key_missing(access_key_id)

    def delete_access_key(self, access_key_id: str) -> None:
        with transactions.write(self._engine) as conn:
            result = conn.execute(
                access_keys.delete().where(access_keys.c.access_key_id == access_key_id)
            )
            if result.rowcount != 1:
                raise _key_missing(access_key_id)

    def record_key_usage(self, batch: Sequence[KeyUsage]) -> None:
        """Record last use for a batch of keys in one transaction (off the request path).

        A use never moves ``last_used_at`` backwards, so batches may arrive out of order; keys
        deleted in the meantime are skipped silently.
        """
        if not batch:
            return
        stmt = (
            access_keys.update()
            .where(
                access_keys.c.access_key_id == bindparam("b_id"),
                or_(
                    access_keys.c.last_used_at.is_(None),
                    access_keys.c.last_used_at < bindparam("b_when"),
                ),
            )
            .values(
                last_used_at=bindparam("b_when"),
                last_used_service=bindparam("b_service"),
                last_used_region=bindparam("b_region"),
            )
        )
        params = [
            {"b_id": akid, "b_when": when, "b_service": service, "b_region": region}
            for akid, when, service, region in batch
        ]
        with transactions.write(self._engine) as conn:
            conn.execute(stmt, params)

    @staticmethod
    def _key_query() -> Select[Any]:
        return select(*_KEY_COLUMNS).join_from(
            access_keys,
            users,
            (users.c.account_id == access_keys.c.account_id)
            & (users.c.user_name_key == access_keys.c.user_name_key),
        )

    def _open_secret(self, access_key_id: str, sealed: bytes) -> str:
        aad = secret_aad(access_key_id)
        return open_with_fresh_ring(self._ring, self._reload_ring, sealed, aad).decode("ascii")

    def _reload_ring(self) -> MasterKeyRing | None:
        return None

    def _reseal_access_keys(self, conn: Connection) -> int:
        """Seal every access-key secret again under the ring's active key, inside the caller's
        transaction (``SqlStore.reseal_secrets``); return how many."""
        rows = conn.execute(select(access_keys.c.access_key_id, access_keys.c.secret_sealed)).all()
        for akid, sealed in rows:
            plain = self._open_secret(akid, sealed).encode("ascii")
            conn.execute(
                access_keys.update()
                .where(access_keys.c.access_key_id == akid)
                .values(secret_sealed=seal(self._ring, plain, aad=secret_aad(akid)))
            )
        return len(rows)

    def _access_key(self, row: Row[Any]) -> AccessKey:
        secret = self._open_secret(row.access_key_id, row.secret_sealed)
        return AccessKey(
            access_key_id=row.access_key_id,
            account_id=row.account_id,
            user_name=row.user_name,
            status=cast(AccessKeyStatus, row.status),
            created_at=row.created_at,
            secret=secret,
            last_used_at=row.last_used_at,
            last_used_service=row.last_used_service,
            last_used_region=row.last_used_region,
        )
