"""The registration worker: fetch a new template version's bundle, check it, record the result.

Edge module (a thread; store and bundle-source I/O). Spec: proton.md §2.4. CreateXTemplateVersion
leaves a version ``REGISTRATION_IN_PROGRESS`` and calls :meth:`Registrar.submit`; the worker
thread fetches ``source.s3`` from the :class:`~hadron.proton.sources.BundleSource`, runs the pure
checks (``hadron.proton.registration.check_bundle``, and for a minor version
``hadron.proton.compatibility`` against the earlier registered minors) and sets ``DRAFT``
(keeping the schema text, its JSON Schemas and a copy of the bundle) or
``REGISTRATION_FAILED`` with a ``statusMessage`` naming the file and the problem.
:meth:`start` first re-queues every version a previous process left in progress, so a crash
never leaves one there forever. Versions deleted meanwhile are
skipped; an unexpected error fails the version with a generic message (details in the log).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from hadron.proton.bundle import BundleError
from hadron.proton.compatibility import incompatibility
from hadron.proton.registration import check_bundle, input_schemas_json
from hadron.proton.sources import BundleFetchError, BundleSource
from hadron.store import SqlStore
from hadron.store.proton_records import VersionRef
from hadron.store.proton_templates import IN_PROGRESS

__all__ = ["Registrar"]

log = logging.getLogger("hadron.proton.registrar")

_STOP = None


class Registrar:
    def __init__(
        self, store: SqlStore, source: BundleSource, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._source = source
        self._clock = clock
        self._queue: queue.Queue[VersionRef | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def submit(self, ref: VersionRef) -> None:
        self._queue.put(ref)

    def start(self) -> None:
        """Re-queue what a previous process left in progress, then start the worker."""
        for pending in self._store.pending_registrations():
            log.info("resuming registration of %s", pending.ref)
            self.submit(pending.ref)
        self._thread = threading.Thread(target=self._run, name="proton-registrar", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (ref := self._queue.get()) is not _STOP:
            try:
                self.register(ref)
            except Exception:
                log.exception("registration of %s failed", ref)
                try:
                    self._store.finish_registration(
                        ref, schema=None, input_schemas=None, bundle=None,
                        failure="bundle: registration failed because of an internal error",
                        now=self._clock(),
                    )  # fmt: skip
                except Exception:  # the store is unavailable: the next start resumes it
                    log.exception("could not record the failed registration of %s", ref)

    def register(self, ref: VersionRef) -> None:
        """Register one version now (the worker's step; also usable without the thread)."""
        version = self._store.get_template_version(ref)
        if version is None or version.status != IN_PROGRESS:
            return
        template = self._store.get_proton_template(
            ref.account_id, ref.region, ref.kind, ref.template_name
        )
        if template is None:  # pragma: no cover - a template with versions cannot be deleted
            return
        try:
            data = self._source.fetch(version.source_bucket, version.source_key)
            checked = check_bundle(
                data, kind=ref.kind, customer_managed=template.provisioning == "CUSTOMER_MANAGED"
            )
            schemas = input_schemas_json(checked.schema)
            for minor, earlier in self._store.earlier_minor_schemas(ref):
                problem = incompatibility(json.loads(earlier), json.loads(schemas))
                if problem is not None:
                    raise BundleError(
                        "schema/schema.yaml",
                        f"not backward compatible with version {ref.major}.{minor}: {problem}",
                    )
        except (BundleFetchError, BundleError) as exc:
            self._store.finish_registration(
                ref, schema=None, input_schemas=None, bundle=None, failure=str(exc),
                now=self._clock(),
            )  # fmt: skip
            return
        self._store.finish_registration(
            ref,
            schema=checked.schema_text,
            input_schemas=schemas,
            bundle=data,
            failure=None,
            now=self._clock(),
        )
