"""IAM Query API handlers for virtual MFA devices, and the check STS makes of an MFA code.

Layer: handlers, like ``hadron.iam.profiles`` (the modules of this package allowed to use the
store). Spec: security.md §3.1/§3.2 (MFA in AssumeRole and GetSessionToken), §6 (operations,
errors). Codes are RFC 6238 TOTP (``hadron.totp``); the seed is sealed at rest by the store and
leaves the server once, in CreateVirtualMFADevice's answer (as ``Base32StringSeed`` and as the
PNG of its ``otpauth://`` URI), as IAM hands it over once.

* EnableMFADevice and ResyncMFADevice take two consecutive codes, looked for within
  ``PAIR_WINDOW_STEPS`` time steps of now; the step found becomes the device's drift, so a pair
  entered late leaves the device "out of sync" as AWS documents (ResyncMFADevice fixes it).
* :class:`MfaVerifier` checks a ``SerialNumber``/``TokenCode`` for STS: the serial must be a
  device assigned to the calling IAM user (a GetSessionToken session counts as its user; role
  sessions have no MFA devices), and the code must match the device's current step ±1.
  Failures are ``AccessDenied`` with AWS's two texts (unknown device vs. wrong code).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import segno

from hadron import totp
from hadron.errors import (
    AccessDenied,
    EntityAlreadyExists,
    InvalidAuthenticationCode,
    InvalidInput,
    NoSuchEntity,
)
from hadron.iam.api import Handler, existing_user, target_user
from hadron.iam.results import _page
from hadron.iam.tags import tag_keys, tags_result, validate_tags
from hadron.store import MfaDevice, Store
from hadron.store.mfa import Assignment
from hadron.types import Principal

__all__ = [
    "ISSUER",
    "MFA_CODE_INVALID",
    "MFA_DEVICE_UNKNOWN",
    "PAIR_WINDOW_STEPS",
    "MfaApi",
    "MfaVerifier",
    "qr_png",
]

Result = dict[str, Any]

#: How far (in 30-second steps, either way) EnableMFADevice/ResyncMFADevice look for the pair.
PAIR_WINDOW_STEPS = 20
#: The issuer an authenticator app shows for Hadron's devices.
ISSUER = "Hadron"

MFA_CODE_INVALID = "MultiFactorAuthentication failed with invalid MFA one time pass code."
# AWS's text has two spaces after "code.".
MFA_DEVICE_UNKNOWN = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)
_BAD_CODES = "Authentication code for device is not valid."
_ASSIGNMENTS: dict[str, Assignment] = {
    "Assigned": "Assigned",
    "Unassigned": "Unassigned",
    "Any": "Any",
}


def _user_result(device: MfaDevice) -> Result | None:
    user = device.user
    if user is None:
        return None
    return {
        "Path": user.path,
        "UserName": user.user_name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }


def _virtual(device: MfaDevice) -> Result:
    out: Result = {"SerialNumber": device.serial_number}
    user = _user_result(device)
    if user is not None:
        out["User"] = user
        out["EnableDate"] = device.enabled_at
    return out


def qr_png(uri: str) -> bytes:
    """The PNG of a QR code holding ``uri``."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=4, border=4)
    return buffer.getvalue()


class MfaApi:
    """The virtual MFA device handlers, bound to a store and a clock."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng

    def handlers(self) -> dict[tuple[str, str], Handler]:
        ops: dict[str, Handler] = {
            "CreateVirtualMFADevice": self.create_virtual_mfa_device,
            "EnableMFADevice": self.enable_mfa_device,
            "DeactivateMFADevice": self.deactivate_mfa_device,
            "ResyncMFADevice": self.resync_mfa_device,
            "DeleteVirtualMFADevice": self.delete_virtual_mfa_device,
            "ListMFADevices": self.list_mfa_devices,
            "ListVirtualMFADevices": self.list_virtual_mfa_devices,
            "GetMFADevice": self.get_mfa_device,
            "TagMFADevice": self.tag_mfa_device,
            "UntagMFADevice": self.untag_mfa_device,
            "ListMFADeviceTags": self.list_mfa_device_tags,
        }
        return {("iam", name): handler for name, handler in ops.items()}

    # --- helpers ----------------------------------------------------------------------------------

    _target = staticmethod(target_user)

    def _existing_user(self, account_id: str, user_name: str) -> None:
        existing_user(self._store, account_id, user_name)

    def _device(self, account_id: str, serial: str) -> MfaDevice:
        device = self._store.get_mfa_device(account_id, serial)
        if device is None:
            raise NoSuchEntity(f"VirtualMFADevice with serial number {serial} does not exist.")
        return device

    def _pair_step(
        self, device: MfaDevice, params: Mapping[str, Any], now: datetime
    ) -> tuple[int, int]:
        """The drift the two consecutive codes show and the step of the second (used up);
        ``InvalidAuthenticationCode`` if they are not two consecutive codes of the device near
        now."""
        step = totp.consecutive_step(
            device.seed,
            str(params["AuthenticationCode1"]),
            str(params["AuthenticationCode2"]),
            now,
            window=PAIR_WINDOW_STEPS,
        )
        if step is None:
            raise InvalidAuthenticationCode(_BAD_CODES)
        return step + 1 - totp.step_at(now), step + 1

    # --- devices ----------------------------------------------------------------------------------

    def create_virtual_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = validate_tags(params.get("Tags"))  # before anything is stored
        name = str(params["VirtualMFADeviceName"])
        seed = totp.generate_seed(self._rng)
        device = self._store.create_virtual_mfa_device(
            caller.account_id, name, params.get("Path") or "/", seed, self._clock(), tags=tags
        )
        uri = totp.otpauth_uri(seed, f"{name}@{caller.account_id}", ISSUER)
        out: Result = {
            "SerialNumber": device.serial_number,
            "Base32StringSeed": totp.encode_seed(seed).encode("ascii"),
            "QRCodePNG": qr_png(uri),
        }
        if device.tags:
            out["Tags"] = tags_result(device.tags)
        return {"VirtualMFADevice": out}

    def enable_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        user_name = str(params["UserName"])
        self._existing_user(caller.account_id, user_name)
        serial = str(params["SerialNumber"])
        device = self._device(caller.account_id, serial)
        if device.user is not None:
            raise EntityAlreadyExists("MFA Device is already in use.")
        now = self._clock()
        drift, last_step = self._pair_step(device, params, now)
        self._store.enable_mfa_device(caller.account_id, user_name, serial, now, drift, last_step)

    def resync_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        user_name = str(params["UserName"])
        self._existing_user(caller.account_id, user_name)
        serial = str(params["SerialNumber"])
        device = self._device(caller.account_id, serial)
        if device.user is None or device.user.user_name.lower() != user_name.lower():
            raise NoSuchEntity("MFA Device invalid for user.")
        drift, last_step = self._pair_step(device, params, self._clock())
        self._store.resync_mfa_device(caller.account_id, user_name, serial, drift, last_step)

    def deactivate_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.deactivate_mfa_device(
            caller.account_id, self._target(caller, params), str(params["SerialNumber"])
        )

    def delete_virtual_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        self._store.delete_virtual_mfa_device(caller.account_id, str(params["SerialNumber"]))

    def list_mfa_devices(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        found = self._store.list_mfa_devices(
            caller.account_id, user_name=self._target(caller, params)
        )
        page, extra = _page(found, params)
        devices = [
            {
                "UserName": d.user.user_name if d.user is not None else "",
                "SerialNumber": d.serial_number,
                "EnableDate": d.enabled_at,
            }
            for d in page
        ]
        return {"MFADevices": devices, **extra}

    def list_virtual_mfa_devices(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        status = str(params.get("AssignmentStatus") or "Any")
        if status not in _ASSIGNMENTS:  # pragma: no cover - the model's enum is validated first
            raise InvalidInput(f"Invalid AssignmentStatus {status}.")
        found = self._store.list_mfa_devices(caller.account_id, assignment=_ASSIGNMENTS[status])
        page, extra = _page(found, params)
        return {"VirtualMFADevices": [_virtual(d) for d in page], **extra}

    def get_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        user_name = self._target(caller, params)
        self._existing_user(caller.account_id, user_name)
        serial = str(params["SerialNumber"])
        device = self._device(caller.account_id, serial)
        if device.user is None or device.user.user_name.lower() != user_name.lower():
            raise NoSuchEntity("MFA Device invalid for user.")
        return {
            "UserName": device.user.user_name,
            "SerialNumber": device.serial_number,
            "EnableDate": device.enabled_at,
        }

    # --- tags -------------------------------------------------------------------------------------

    def tag_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        tags = validate_tags(params["Tags"])
        self._store.tag_mfa_device(caller.account_id, str(params["SerialNumber"]), tags)

    def untag_mfa_device(self, caller: Principal, params: Mapping[str, Any]) -> None:
        keys = tag_keys(params["TagKeys"])
        self._store.untag_mfa_device(caller.account_id, str(params["SerialNumber"]), keys)

    def list_mfa_device_tags(self, caller: Principal, params: Mapping[str, Any]) -> Result:
        tags = self._store.list_mfa_device_tags(caller.account_id, str(params["SerialNumber"]))
        page, extra = _page(tags, params)
        return {"Tags": tags_result(page), **extra}


_HELD_MAX = 256


class MfaVerifier:
    """Checks an STS ``SerialNumber``/``TokenCode`` against the caller's assigned devices.

    A code is accepted once: its time step is recorded on the device, and that step or an
    earlier one is refused afterwards (RFC 6238 §5.2; AWS refuses a reused code too). AssumeRole
    asks twice within one request — the authorizer, so the trust policy sees the MFA, through
    :meth:`hold`, then the STS handler through ``__call__`` — and the second question takes the
    answer :meth:`hold` kept for the same caller, serial, code and request time instead of
    spending the code again.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        # Verified (caller, serial, code, request time) not yet asked for again.
        self._held: set[tuple[str, str, str, datetime]] = set()

    def hold(self, caller: Principal, serial: str, token_code: str, now: datetime) -> datetime:
        """Verify (spending the code) and keep the answer for this request's next question."""
        at = self._verify(caller, serial, token_code, now)
        with self._lock:
            if len(self._held) >= _HELD_MAX:
                self._held.clear()
            self._held.add((caller.user_id, serial, token_code, now))
        return at

    def __call__(self, caller: Principal, serial: str, token_code: str, now: datetime) -> datetime:
        """The MFA authentication time (``now``) if ``token_code`` is a current, unused code
        of the device ``serial`` assigned to ``caller`` (or :meth:`hold` just verified it for
        this request); else ``AccessDenied``."""
        key = (caller.user_id, serial, token_code, now)
        with self._lock:
            held = key in self._held
            self._held.discard(key)
        return now if held else self._verify(caller, serial, token_code, now)

    def _verify(self, caller: Principal, serial: str, token_code: str, now: datetime) -> datetime:
        session = caller.session
        is_role = bool(getattr(session, "is_role", False))
        device = None
        if caller.user_name is not None and not is_role:
            device = self._store.get_mfa_device(caller.account_id, serial)
        if device is None or device.user is None or device.user.user_id != caller.user_id:
            raise AccessDenied(MFA_DEVICE_UNKNOWN)
        step = totp.matching_step(device.seed, token_code, now, drift=device.drift)
        if step is None or not self._store.use_mfa_step(caller.account_id, serial, step):
            raise AccessDenied(MFA_CODE_INVALID)
        return now
