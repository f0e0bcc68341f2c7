"""The provisioning worker: run a deployment's infrastructure commands and record the result.

Edge module (threads, store, files, subprocesses). Spec: proton.md §6.2 (CodeBuild
provisioning), §2.5-§2.8 (cancel), §2.16 (deployments). A create/update/delete of an
environment, a service instance or a service pipeline leaves a deployment record IN_PROGRESS
(or DELETE_IN_PROGRESS) and calls :meth:`submit`; a thread per deployment then

* for ``rendering_engine: codebuild``: writes the version's ``infrastructure/`` files and
  ``proton-inputs.json`` into a fresh ``DATA/proton-builds/<deployment id>``, assumes the
  environment's ``codebuildRoleArn`` (through an environment account connection: the
  connection's, a role in the environment account; ``hadron.proton.connections.build_role``)
  as the service principal ``proton.amazonaws.com`` through
  Hadron's own STS (the trust policy must allow it), and runs the manifest's ``provision`` (or,
  on delete, ``deprovision``) commands with ``hadron.proton.codebuild`` — the temporary
  credentials, region, ``AWS_ENDPOINT_URL``/``AWS_CA_BUNDLE`` pointing back at Hadron and
  ``RESOURCE_ARN`` in a clean environment whose PATH starts with Hadron's own ``bin/`` (the AWS
  CLI and python3). The log is kept as ``DATA/logs/<deployment id>.log``; a failure's
  ``deploymentStatusMessage`` ends with the log tail. Commands report outputs with
  ``aws proton notify-resource-deployment-status-change``.
  A service instance's build uses ``instance_infrastructure/``, its environment's
  ``codebuildRoleArn`` and ``proton-inputs.json`` of ``rendering.service_instance_namespace``
  (the environment's outputs are those of its last succeeded deployment); a pipeline's build uses
  ``pipeline_infrastructure/``, the account settings' ``pipelineCodebuildRoleArn`` and
  ``rendering.pipeline_namespace`` (every instance with its outputs), and starts only once the
  service's instance deployments have finished.
* for a CUSTOMER_MANAGED (imported) environment: records its spec inputs as its outputs.
* for ``cloudformation`` and ``terraform`` (self-managed) versions, and for directly defined
  components (which use only those two): fails the deployment with a message saying the engine
  is not available yet (nothing was provisioned, so deleting such an environment or component
  completes at once).

:meth:`cancel` stops a running build (the deployment ends CANCELLED). :meth:`start` first fails
every deployment a previous process left running (``deployments.recover``): their builds died
with it; services still busy then move on (``deployments.recover_service``).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from hadron.errors import ServiceError
from hadron.proton import deployments as dep
from hadron.proton.arns import TemplateKind
from hadron.proton.codebuild import BuildSpec, run_build
from hadron.proton.connections import BuildRole, build_role
from hadron.proton.registration import check_bundle
from hadron.proton.rendering import (
    EnvironmentParams,
    InstanceParams,
    ServiceParams,
    environment_namespace,
    pipeline_namespace,
    proton_inputs_json,
    service_instance_namespace,
)
from hadron.proton.specs import freeze
from hadron.store import SqlStore
from hadron.store.proton_records import Deployment, VersionRef

__all__ = ["PROTON_SERVICE", "Assume", "Provisioner", "failure_message", "unavailable_message"]

log = logging.getLogger("hadron.proton.provisioner")

PROTON_SERVICE: Final = "proton.amazonaws.com"
_INSTANCE_DIR: Final = "instance_infrastructure"
_PIPELINE_DIR: Final = "pipeline_infrastructure"
#: How long a pipeline deployment waits for its service's instance deployments to finish.
PIPELINE_WAIT: Final = 3600.0
#: Kept of a failed build's log in ``deploymentStatusMessage``.
MESSAGE_TAIL: Final = 4000

Assume = Callable[[str, str, datetime, Mapping[str, Any]], Mapping[str, Any]]
"""(role ARN, session name, now, trust context) → STS ``Credentials``; raises ServiceError."""

_UNAVAILABLE = {
    "cloudformation": (
        "AWS-managed provisioning (rendering_engine jinja, CloudFormation) is not available in "
        "Hadron yet; only CodeBuild provisioning (rendering_engine codebuild) runs. Nothing was "
        "provisioned."
    ),
    "terraform": (
        "Self-managed provisioning (rendering_engine hcl, Terraform pull requests to the "
        "provisioningRepository) is not available in Hadron yet; only CodeBuild provisioning "
        "(rendering_engine codebuild) runs. Nothing was provisioned."
    ),
}

_COMPONENT_UNAVAILABLE = {
    "cloudformation": (
        "AWS-managed provisioning of components (rendering_engine jinja, CloudFormation) is not "
        "available in Hadron yet; components cannot use CodeBuild provisioning. Nothing was "
        "provisioned."
    ),
    "terraform": (
        "Self-managed provisioning of components (rendering_engine hcl, Terraform pull requests "
        "to the environment's provisioningRepository) is not available in Hadron yet. Nothing was "
        "provisioned."
    ),
}


def unavailable_message(engine: str, target_type: str) -> str:
    """``deploymentStatusMessage`` of a deployment whose engine does not run in Hadron yet."""
    if target_type == "COMPONENT":
        return _COMPONENT_UNAVAILABLE[engine]
    return _UNAVAILABLE[engine]


def failure_message(reason: str, tail: str) -> str:
    """``deploymentStatusMessage`` of a failed build: the reason, then the log's last lines."""
    tail = tail.strip()
    if len(tail) > MESSAGE_TAIL:
        tail = "..." + tail[-MESSAGE_TAIL:]
    return f"{reason}\n{tail}" if tail else reason


class Provisioner:
    def __init__(
        self,
        store: SqlStore,
        assume: Assume,
        clock: Callable[[], datetime],
        *,
        data_dir: Path,
        client_env: Callable[[], Mapping[str, str]],
        bin_dir: str | None,
        timeout: float = 3600.0,
        max_builds: int = 4,
    ) -> None:
        # At most ``max_builds`` builds run at once; later deployments wait (IN_PROGRESS) for a
        # slot, and a cancel while waiting ends them CANCELLED without running anything.
        self._slots = threading.BoundedSemaphore(max_builds)
        self._store = store
        self._assume = assume
        self._clock = clock
        self._builds = data_dir / "proton-builds"
        self._logs = data_dir / "logs"
        self._client_env = client_env
        self._bin_dir = bin_dir
        self._timeout = timeout
        self._lock = threading.Lock()
        self._running: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._stopping = False

    # --- queue interface ---------------------------------------------------------------------

    def submit(self, deployment_id: str) -> None:
        with self._lock:
            if self._stopping or deployment_id in self._running:
                return
            cancel = threading.Event()
            thread = threading.Thread(
                target=self._run,
                args=(deployment_id, cancel),
                name=f"proton-deploy-{deployment_id}",
                daemon=True,
            )
            self._running[deployment_id] = (thread, cancel)
        thread.start()

    def cancel(self, deployment_id: str) -> None:
        with self._lock:
            running = self._running.get(deployment_id)
        if running is not None:
            running[1].set()

    def start(self) -> None:
        """Fail what a previous process left running (its builds died with it)."""
        for d in self._store.busy_deployments():
            recovered = dep.recover(dep.DeploymentStatus(d.deployment_status))
            if recovered is None:  # pragma: no cover - busy_deployments lists busy ones
                continue
            log.warning("deployment %s was interrupted; marking it %s", d.id, recovered[0])
            self._store.finish_deployment(d.id, dep.Event.RECOVER, recovered[1], self._clock())
        for name in self._store.recover_services(self._clock()):
            log.warning("service %s was interrupted; marking it failed", name)
        if self._builds.is_dir():  # work directories of builds that died with that process
            for left in self._builds.iterdir():
                shutil.rmtree(left, ignore_errors=True)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop running builds; their deployments are failed at the next start."""
        with self._lock:
            self._stopping = True
            running = list(self._running.values())
        for _thread, cancel in running:
            cancel.set()
        for thread, _cancel in running:
            thread.join(timeout)

    def wait(self, deployment_id: str, timeout: float | None = None) -> None:
        """Block until the deployment's thread ends (tests)."""
        with self._lock:
            running = self._running.get(deployment_id)
        if running is not None:
            running[0].join(timeout)

    # --- one deployment ------------------------------------------------------------------------

    def _run(self, deployment_id: str, cancel: threading.Event) -> None:
        try:
            self._await_instances(deployment_id, cancel)
            with self._slots:
                self.deploy(deployment_id, cancel)
        except Exception:
            log.exception("deployment %s failed", deployment_id)
            self._finish_failed(deployment_id, "Provisioning failed because of an internal error.")
        finally:
            with self._lock:
                self._running.pop(deployment_id, None)

    def _await_instances(self, deployment_id: str, cancel: threading.Event) -> None:
        """A pipeline deployment starts once its service's instance deployments have finished
        (its templates read their outputs)."""
        d = self._store.deployment_by_id(deployment_id)
        if d is None or d.target_type != "SERVICE_PIPELINE" or d.action != "DEPLOY":
            return
        waited = 0.0
        while waited < PIPELINE_WAIT and not cancel.is_set():
            if not self._store.service_instances_busy(d.account_id, d.region, str(d.service_name)):
                return
            cancel.wait(0.25)
            waited += 0.25

    def _finish_failed(self, deployment_id: str, message: str) -> None:
        found = self._store.deployment_by_id(deployment_id)
        if found is None:
            return
        event = dep.Event.DELETE_FAIL if found.action == "DELETE" else dep.Event.FAIL
        try:
            self._store.finish_deployment(deployment_id, event, message, self._clock())
        except Exception:  # the store is unavailable: the next start fails it
            log.exception("could not record the failure of deployment %s", deployment_id)

    def deploy(self, deployment_id: str, cancel: threading.Event | None = None) -> None:
        """Run one deployment to its end (the thread's body)."""
        d = self._store.deployment_by_id(deployment_id)
        if d is None or not dep.is_busy(dep.DeploymentStatus(d.deployment_status)):
            return
        deleting = d.action == "DELETE"
        ok = dep.Event.DELETE_SUCCEED if deleting else dep.Event.SUCCEED
        fail = dep.Event.DELETE_FAIL if deleting else dep.Event.FAIL
        if d.engine in _UNAVAILABLE:
            if deleting:
                self._store.finish_deployment(d.id, ok, None, self._clock())
            else:
                reason = unavailable_message(d.engine, d.target_type)
                self._store.finish_deployment(d.id, fail, reason, self._clock())
            return
        state = json.loads(d.target_state)
        if d.engine == "CUSTOMER_MANAGED":
            if not deleting:
                inputs = state.get("inputs") or {}
                self._store.set_deployment_outputs(
                    d.id,
                    [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in inputs.items()],
                )
            self._store.finish_deployment(d.id, ok, None, self._clock())
            return
        event, message = self._build(d, state, deleting, cancel or threading.Event())
        self._store.finish_deployment(d.id, ok if event is None else event, message, self._clock())

    def _customer_managed(self, d: Deployment, template: str) -> bool:
        found = self._store.get_proton_template(d.account_id, d.region, "service", template)
        return found is not None and found.provisioning == "CUSTOMER_MANAGED"

    def _environment_params(
        self, d: Deployment, name: str
    ) -> tuple[EnvironmentParams, BuildRole] | str:
        """An environment as its instances' builds see it, and the role those builds assume
        (its own, or its connection's in the environment account)."""
        env = self._store.get_environment(d.account_id, d.region, name)
        if env is None:
            return f"The environment {name} no longer exists."
        outputs = self._store.outputs(d.account_id, d.region, name, None)
        role = build_role(self._store, env)
        params = EnvironmentParams(
            name=name,
            inputs=_frozen(json.loads(env.inputs)),
            outputs=_outputs(outputs),
            account_id=role.account_id,  # through a connection: the environment account
        )
        return params, role

    def _target(
        self, d: Deployment, state: Mapping[str, Any]
    ) -> tuple[str, bytes, TemplateKind, BuildRole, Mapping[str, Any]] | str:
        """(bundle directory, bundle, template kind, the role the build assumes, proton-inputs
        namespace) of a deployment, or why it cannot run. An environment's builds (and its
        service instances') use its own ``codebuildRoleArn`` or, through an environment account
        connection, the connection's role in the environment account; a pipeline's the account
        settings' ``pipelineCodebuildRoleArn``."""
        kind: TemplateKind = "environment" if d.target_type == "ENVIRONMENT" else "service"
        ref = VersionRef(
            d.account_id,
            d.region,
            kind,
            str(state["templateName"]),
            int(state["templateMajorVersion"]),
            int(state["templateMinorVersion"]),
        )
        data = self._store.get_template_bundle(ref)
        if data is None:
            return f"The template version {ref.major}.{ref.minor} has no bundle."
        inputs = _frozen(state.get("inputs") or {})
        if kind == "environment":
            env = self._store.get_environment(d.account_id, d.region, d.environment_name)
            if env is None:  # pragma: no cover - deleted only by this deployment's own success
                return "The environment no longer exists."
            role = build_role(self._store, env)  # its own role, or its connection's
            params = EnvironmentParams(name=env.name, inputs=inputs, account_id=role.account_id)
            return "infrastructure", data, kind, role, environment_namespace(params)
        service = self._store.get_service(d.account_id, d.region, str(d.service_name))
        if service is None:
            return f"The service {d.service_name} no longer exists."
        svc = ServiceParams(
            name=service.name,
            repository_id=service.repository_id,
            repository_connection_arn=service.repository_connection_arn,
            branch_name=service.branch_name,
        )
        if d.target_type == "SERVICE_INSTANCE":
            found = self._environment_params(d, d.environment_name)
            if isinstance(found, str):
                return found
            env_params, role = found
            instance = InstanceParams(
                name=str(d.service_instance_name), environment=env_params, inputs=inputs
            )
            return _INSTANCE_DIR, data, kind, role, service_instance_namespace(svc, instance)
        instances: list[InstanceParams] = []
        for item in self._store.service_instances(d.account_id, d.region, service.name):
            found = self._environment_params(d, item.environment_name)
            if isinstance(found, str):
                return found
            env_params = found[0]
            outputs = self._store.target_outputs(
                d.account_id, d.region, service.name, item.name, None
            )
            instances.append(
                InstanceParams(
                    name=item.name,
                    environment=env_params,
                    inputs=_frozen(json.loads(item.inputs)),
                    outputs=_outputs(outputs),
                )
            )
        settings = self._store.get_proton_account_settings(d.account_id, d.region)
        pipeline_role = BuildRole(
            settings.pipeline_codebuild_role_arn or None,
            d.account_id,
            "pipelineCodebuildRoleArn: the account settings have no pipeline CodeBuild role.",
        )
        return _PIPELINE_DIR, data, kind, pipeline_role, pipeline_namespace(svc, inputs, instances)

    def _build(
        self, d: Deployment, state: Mapping[str, Any], deleting: bool, cancel: threading.Event
    ) -> tuple[dep.Event | None, str | None]:
        """Run the CodeBuild-style commands; (None, None) on success, else (event, message)."""
        fail = dep.Event.DELETE_FAIL if deleting else dep.Event.FAIL
        target = self._target(d, state)
        if isinstance(target, str):
            return fail, target
        directory, data, kind, target_role, namespace = target
        managed = kind == "service" and self._customer_managed(d, str(state["templateName"]))
        checked = check_bundle(data, kind=kind, customer_managed=managed)
        settings = checked.manifests[directory].templates[0].codebuild
        if settings is None:  # pragma: no cover - engine codebuild always has settings
            return fail, "The manifest has no CodeBuild settings."
        commands = settings.deprovision if deleting else settings.provision
        if not commands:
            return None, None  # a manifest without deprovision commands has nothing to undo
        if cancel.is_set():  # cancelled (or the server is stopping) before the build started
            if self._stopping:
                return fail, "The Hadron server stopped before the build started."
            return dep.Event.CANCELLED, dep.CANCELLED_MESSAGE
        role = target_role.role_arn
        if role is None:
            return fail, target_role.problem
        field = "pipelineCodebuildRoleArn" if directory == _PIPELINE_DIR else "codebuildRoleArn"
        try:
            credentials = self._assume(
                role,
                f"AWSProton-{d.id}",
                self._clock(),
                {"aws:SourceAccount": d.account_id, "aws:SourceArn": d.target_arn},
            )
        except ServiceError as exc:
            return fail, (
                f"Hadron could not assume the {field} {role} as {PROTON_SERVICE}: "
                f"{exc.message} The role must exist and trust {PROTON_SERVICE}."
            )
        extra = {
            **settings.env_variables,
            **self._client_env(),
            "AWS_ACCESS_KEY_ID": str(credentials["AccessKeyId"]),
            "AWS_SECRET_ACCESS_KEY": str(credentials["SecretAccessKey"]),
            "AWS_SESSION_TOKEN": str(credentials["SessionToken"]),
            "AWS_DEFAULT_REGION": d.region,
            "AWS_REGION": d.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        files = checked.bundle.under(directory)
        spec = BuildSpec(
            commands=commands,
            resource_arn=d.target_arn,
            inputs_json=proton_inputs_json(namespace),
            files=files,
            bin_dir=self._bin_dir,
            extra_env=extra,
            timeout=self._timeout,
        )
        work_dir = self._builds / d.id
        self._logs.mkdir(parents=True, exist_ok=True)
        if work_dir.exists():  # a previous attempt of this very deployment (never normally)
            shutil.rmtree(work_dir)
        work_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            result = run_build(spec, work_dir, self._logs / f"{d.id}.log", cancel=cancel)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        if result.succeeded:
            return None, None
        if result.cancelled:
            if deleting or self._stopping:
                return fail, failure_message("The build was stopped.", result.log_tail)
            return dep.Event.CANCELLED, dep.CANCELLED_MESSAGE
        if result.timed_out:
            reason = f"The build timed out after {self._timeout:g} seconds."
        else:
            reason = f"The build failed with exit status {result.exit_status}."
        return fail, failure_message(
            f"{reason} Log: logs/{d.id}.log in the Hadron data directory. Last output:",
            result.log_tail,
        )


def _frozen(inputs: Mapping[str, Any]) -> Any:
    return freeze(dict(inputs))


def _outputs(pairs: list[tuple[str, str]]) -> Mapping[str, str]:
    return MappingProxyType(dict(pairs))
