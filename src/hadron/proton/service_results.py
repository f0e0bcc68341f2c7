"""Wire shapes of services, service instances and pipelines (the model's ``Service``,
``ServiceSummary``, ``ServiceInstance``, ``ServiceInstanceSummary``, ``ServicePipeline``).

Layer: pure (records in, dicts out). Spec: proton.md §2.6-§2.8.
"""

from __future__ import annotations

from typing import Any

from hadron.store.proton_records import Service, ServiceInstance, ServicePipeline
from hadron.store.proton_service_deployments import instance_arn, pipeline_arn, service_arn

__all__ = ["instance_result", "pipeline_result", "service_result"]

Result = dict[str, Any]


def _some(out: Result, optional: dict[str, Any]) -> Result:
    return out | {k: v for k, v in optional.items() if v is not None}


def pipeline_result(p: ServicePipeline) -> Result:
    return _some(
        {
            "arn": pipeline_arn(p.region, p.account_id, p.service_name),
            "createdAt": p.created_at,
            "lastDeploymentAttemptedAt": p.last_deployment_attempted_at,
            "lastDeploymentSucceededAt": p.last_deployment_succeeded_at,
            "templateName": p.template_name,
            "templateMajorVersion": str(p.template_major),
            "templateMinorVersion": str(p.template_minor),
            "deploymentStatus": p.deployment_status,
        },
        {
            "deploymentStatusMessage": p.deployment_status_message,
            "spec": p.spec,
            "lastAttemptedDeploymentId": p.last_attempted_deployment_id,
            "lastSucceededDeploymentId": p.last_succeeded_deployment_id,
        },
    )


def service_result(
    s: Service, pipeline: ServicePipeline | None = None, *, summary: bool = False
) -> Result:
    out: Result = {
        "name": s.name,
        "arn": service_arn(s.region, s.account_id, s.name),
        "templateName": s.template_name,
        "createdAt": s.created_at,
        "lastModifiedAt": s.last_modified_at,
        "status": s.status,
    }
    optional: dict[str, Any] = {"description": s.description, "statusMessage": s.status_message}
    if not summary:
        out["spec"] = s.spec
        optional |= {
            "repositoryConnectionArn": s.repository_connection_arn,
            "repositoryId": s.repository_id,
            "branchName": s.branch_name,
            "pipeline": None if pipeline is None else pipeline_result(pipeline),
        }
    return _some(out, optional)


def instance_result(i: ServiceInstance, *, summary: bool = False) -> Result:
    out: Result = {
        "name": i.name,
        "arn": instance_arn(i.region, i.account_id, i.service_name, i.name),
        "createdAt": i.created_at,
        "lastDeploymentAttemptedAt": i.last_deployment_attempted_at,
        "lastDeploymentSucceededAt": i.last_deployment_succeeded_at,
        "serviceName": i.service_name,
        "environmentName": i.environment_name,
        "templateName": i.template_name,
        "templateMajorVersion": str(i.template_major),
        "templateMinorVersion": str(i.template_minor),
        "deploymentStatus": i.deployment_status,
    }
    optional: dict[str, Any] = {
        "deploymentStatusMessage": i.deployment_status_message,
        "lastAttemptedDeploymentId": i.last_attempted_deployment_id,
        "lastSucceededDeploymentId": i.last_succeeded_deployment_id,
    }
    if not summary:
        optional |= {"spec": i.spec, "lastClientRequestToken": i.last_client_request_token}
    return _some(out, optional)
