"""The virtual MFA device repository (devices, their user, their tags) on SQLAlchemy Core.

Layer 3 (store, edge). Spec: security.md §6 (IAM operations, error codes); IAM quotas (8 MFA
devices per user). Same rules as ``hadron.store.roles``: every public method is one transaction;
device serials are unique case-insensitively per account; tags follow the user/role tag rules.

* The TOTP seed is sealed with the master-key ring (``hadron.keys.seal``) before it reaches the
  database, with associated data naming the account and serial, so a sealed seed copied onto
  another device's row does not open; ``hadron admin rotate-master-key`` re-seals seeds with
  the access-key secrets (:meth:`SqlMfa._reseal_mfa_seeds`, called in the same transaction).
* Verifying codes is the handlers' job (``hadron.totp``); the store records the outcome
  (assignment, enable date, drift).
* A device assigned to a user keeps the user from being deleted (``DeleteUser``) and itself from
  being deleted (``DeleteConflict``) until it is deactivated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Row, delete, func, or_, select, update

from hadron.errors import DeleteConflict, EntityAlreadyExists, LimitExceeded, NoSuchEntity
from hadron.keys import MasterKeyRing, seal
from hadron.store import transactions
from hadron.store.credentials import open_with_fresh_ring, user_missing
from hadron.store.records import MAX_MFA_DEVICES_PER_USER, MfaDevice, mfa_arn, user_from_row
from hadron.store.roles import _merge_tags, _read_tags, _remove_tags
from hadron.store.schema import mfa_device_tags, mfa_devices, users

__all__ = ["Assignment", "SqlMfa", "seed_aad", "serial_key"]

Assignment = Literal["Assigned", "Unassigned", "Any"]
Tags = Sequence[tuple[str, str]]


def seed_aad(account_id: str, key: str) -> bytes:
    """Associated data binding a sealed seed to its device row."""
    return b"hadron/mfa-seed/" + account_id.encode("ascii") + b"/" + key.encode("utf-8")


def serial_key(account_id: str, serial_number: str) -> str | None:
    """The row key (lower-cased ``<path><name>``) of a serial in ``account_id``, or ``None`` if
    the serial is not a virtual MFA device ARN of that account."""
    prefix = f"arn:aws:iam::{account_id}:mfa/"
    if not serial_number.startswith(prefix) or len(serial_number) == len(prefix):
        return None
    return serial_number[len(prefix) - 1 :].lower()


def _no_device(serial_number: str) -> NoSuchEntity:
    return NoSuchEntity(f"VirtualMFADevice with serial number {serial_number} does not exist.")


class SqlMfa:
    """MFA device methods of the SQL store; mixed into ``hadron.store.sql.SqlStore``."""

    _engine: Engine
    _ring: MasterKeyRing

    def _reload_ring(self) -> MasterKeyRing | None:
        return None

    def create_virtual_mfa_device(
        self,
        account_id: str,
        device_name: str,
        path: str,
        seed: bytes,
        now: datetime,
        *,
        tags: Tags = (),
    ) -> MfaDevice:
        if not (path.startswith("/") and path.endswith("/")):
            raise ValueError("an IAM path starts and ends with '/'")
        key = (path + device_name).lower()
        sealed = seal(self._ring, seed, aad=seed_aad(account_id, key))
        with transactions.write(self._engine) as conn:
            if self._row(conn, account_id, key) is not None:
                raise EntityAlreadyExists(
                    "MFADevice entity at the same path and name already exists."
                )
            conn.execute(
                mfa_devices.insert().values(
                    account_id=account_id,
                    serial_key=key,
                    device_name=device_name,
                    path=path,
                    seed_sealed=sealed,
                    created_at=now,
                    user_name_key=None,
                    enabled_at=None,
                    drift=0,
                )
            )
            _merge_tags(conn, mfa_device_tags, "serial_key", account_id, key, tags)
            row = self._row(conn, account_id, key)
            if row is None:  # pragma: no cover - inserted above, in this transaction
                raise _no_device(mfa_arn(account_id, path, device_name))
            return self._device(conn, row)

    def get_mfa_device(self, account_id: str, serial_number: str) -> MfaDevice | None:
        """The device with its opened seed, user and tags, or ``None``."""
        key = serial_key(account_id, serial_number)
        if key is None:
            return None
        with transactions.read(self._engine) as conn:
            row = self._row(conn, account_id, key)
            return None if row is None else self._device(conn, row)

    def list_mfa_devices(
        self, account_id: str, *, assignment: Assignment = "Any", user_name: str | None = None
    ) -> list[MfaDevice]:
        """The account's devices by serial (``assignment`` filters), or those assigned to
        ``user_name`` by enable date (``NoSuchEntity`` for an unknown user)."""
        with transactions.read(self._engine) as conn:
            query = select(mfa_devices).where(mfa_devices.c.account_id == account_id)
            if user_name is not None:
                user_key = self._mfa_user_key(conn, account_id, user_name, lock=False)
                query = query.where(mfa_devices.c.user_name_key == user_key).order_by(
                    mfa_devices.c.enabled_at, mfa_devices.c.serial_key
                )
            else:
                query = query.order_by(mfa_devices.c.serial_key)
                if assignment == "Assigned":
                    query = query.where(mfa_devices.c.user_name_key.is_not(None))
                elif assignment == "Unassigned":
                    query = query.where(mfa_devices.c.user_name_key.is_(None))
            return [self._device(conn, r) for r in conn.execute(query).all()]

    def enable_mfa_device(
        self,
        account_id: str,
        user_name: str,
        serial_number: str,
        now: datetime,
        drift: int,
        last_step: int,
    ) -> None:
        """Assign an unassigned device to the user (at most ``MAX_MFA_DEVICES_PER_USER``);
        ``last_step``: the step of the second code entered (used up, like any accepted code)."""
        with transactions.write(self._engine) as conn:
            user_key = self._mfa_user_key(conn, account_id, user_name, lock=True)
            row = self._existing(conn, account_id, serial_number)
            if row.user_name_key is not None:
                raise EntityAlreadyExists("MFA Device is already in use.")
            count = conn.execute(
                select(func.count())
                .select_from(mfa_devices)
                .where(
                    mfa_devices.c.account_id == account_id,
                    mfa_devices.c.user_name_key == user_key,
                )
            ).scalar_one()
            if count >= MAX_MFA_DEVICES_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for MFADevicesPerUser: {MAX_MFA_DEVICES_PER_USER}"
                )
            self._set(
                conn,
                row,
                user_name_key=user_key,
                enabled_at=now,
                drift=drift,
                last_step=last_step,
            )

    def deactivate_mfa_device(self, account_id: str, user_name: str, serial_number: str) -> None:
        """Unassign the user's device (it stays, unassigned, until deleted)."""
        with transactions.write(self._engine) as conn:
            row = self._assigned(conn, account_id, user_name, serial_number)
            self._set(conn, row, user_name_key=None, enabled_at=None, drift=0, last_step=None)

    def resync_mfa_device(
        self, account_id: str, user_name: str, serial_number: str, drift: int, last_step: int
    ) -> None:
        """Record the drift ResyncMFADevice found for the user's device (and the step of its
        second code, used up)."""
        with transactions.write(self._engine) as conn:
            row = self._assigned(conn, account_id, user_name, serial_number)
            self._set(conn, row, drift=drift, last_step=last_step)

    def use_mfa_step(self, account_id: str, serial_number: str, step: int) -> bool:
        """Record that the code of ``step`` was accepted; ``False`` if that step, or a later
        one, already was (a code is good once, RFC 6238 §5.2). One conditional UPDATE, so two
        requests racing with the same code cannot both win."""
        key = serial_key(account_id, serial_number)
        if key is None:
            return False
        c = mfa_devices.c
        with transactions.write(self._engine) as conn:
            done = conn.execute(
                update(mfa_devices)
                .where(
                    c.account_id == account_id,
                    c.serial_key == key,
                    c.user_name_key.is_not(None),
                    or_(c.last_step.is_(None), c.last_step < step),
                )
                .values(last_step=step)
            )
        return done.rowcount == 1

    def delete_virtual_mfa_device(self, account_id: str, serial_number: str) -> None:
        with transactions.write(self._engine) as conn:
            row = self._existing(conn, account_id, serial_number)
            if row.user_name_key is not None:
                raise DeleteConflict("MFA VirtualDevice in use. Must deactivate first.")
            conn.execute(
                delete(mfa_devices).where(
                    mfa_devices.c.account_id == account_id,
                    mfa_devices.c.serial_key == row.serial_key,
                )
            )

    def tag_mfa_device(self, account_id: str, serial_number: str, tags: Tags) -> None:
        with transactions.write(self._engine) as conn:
            row = self._existing(conn, account_id, serial_number)
            _merge_tags(conn, mfa_device_tags, "serial_key", account_id, row.serial_key, tags)

    def untag_mfa_device(
        self, account_id: str, serial_number: str, tag_keys: Sequence[str]
    ) -> None:
        with transactions.write(self._engine) as conn:
            row = self._existing(conn, account_id, serial_number)
            _remove_tags(conn, mfa_device_tags, "serial_key", account_id, row.serial_key, tag_keys)

    def list_mfa_device_tags(self, account_id: str, serial_number: str) -> list[tuple[str, str]]:
        with transactions.read(self._engine) as conn:
            row = self._existing(conn, account_id, serial_number)
            rows = _read_tags(conn, mfa_device_tags, "serial_key", account_id, row.serial_key)
        return [(k, v) for k, v in rows]

    # --- master-key rotation ----------------------------------------------------------------------

    def _reseal_mfa_seeds(self, conn: Connection) -> int:
        """Seal every stored seed again under the ring's active key (inside the caller's
        transaction); return how many."""
        rows = conn.execute(
            select(mfa_devices.c.account_id, mfa_devices.c.serial_key, mfa_devices.c.seed_sealed)
        ).all()
        for account_id, key, sealed in rows:
            aad = seed_aad(account_id, key)
            plain = self._open_seed(account_id, key, sealed)
            conn.execute(
                update(mfa_devices)
                .where(mfa_devices.c.account_id == account_id, mfa_devices.c.serial_key == key)
                .values(seed_sealed=seal(self._ring, plain, aad=aad))
            )
        return len(rows)

    # --- helpers ----------------------------------------------------------------------------------

    def _open_seed(self, account_id: str, key: str, sealed: bytes) -> bytes:
        aad = seed_aad(account_id, key)
        return open_with_fresh_ring(self._ring, self._reload_ring, sealed, aad)

    @staticmethod
    def _row(conn: Connection, account_id: str, key: str) -> Row[Any] | None:
        return conn.execute(
            select(mfa_devices).where(
                mfa_devices.c.account_id == account_id, mfa_devices.c.serial_key == key
            )
        ).one_or_none()

    @classmethod
    def _existing(cls, conn: Connection, account_id: str, serial_number: str) -> Row[Any]:
        key = serial_key(account_id, serial_number)
        row = None if key is None else cls._row(conn, account_id, key)
        if row is None:
            raise _no_device(serial_number)
        return row

    @classmethod
    def _assigned(
        cls, conn: Connection, account_id: str, user_name: str, serial_number: str
    ) -> Row[Any]:
        user_key = cls._mfa_user_key(conn, account_id, user_name, lock=True)
        row = cls._existing(conn, account_id, serial_number)
        if row.user_name_key != user_key:
            raise NoSuchEntity("MFA Device invalid for user.")
        return row

    @staticmethod
    def _mfa_user_key(conn: Connection, account_id: str, user_name: str, *, lock: bool) -> str:
        query = select(users.c.user_name_key).where(
            users.c.account_id == account_id, users.c.user_name_key == user_name.lower()
        )
        if lock:
            query = query.with_for_update()
        found = conn.execute(query).first()
        if found is None:
            raise user_missing(user_name)
        key: str = found[0]
        return key

    @staticmethod
    def _set(conn: Connection, row: Row[Any], **values: Any) -> None:
        conn.execute(
            update(mfa_devices)
            .where(
                mfa_devices.c.account_id == row.account_id,
                mfa_devices.c.serial_key == row.serial_key,
            )
            .values(**values)
        )

    def _device(self, conn: Connection, row: Row[Any]) -> MfaDevice:
        user = None
        if row.user_name_key is not None:
            found = conn.execute(
                select(users).where(
                    users.c.account_id == row.account_id,
                    users.c.user_name_key == row.user_name_key,
                )
            ).one_or_none()
            user = None if found is None else user_from_row(found)
        tags = _read_tags(conn, mfa_device_tags, "serial_key", row.account_id, row.serial_key)
        return MfaDevice(
            account_id=row.account_id,
            serial_number=mfa_arn(row.account_id, row.path, row.device_name),
            device_name=row.device_name,
            path=row.path,
            seed=self._open_seed(row.account_id, row.serial_key, row.seed_sealed),
            created_at=row.created_at,
            user=user,
            enabled_at=row.enabled_at,
            drift=row.drift,
            tags=tuple((k, v) for k, v in tags),
        )
