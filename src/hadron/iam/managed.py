"""AWS managed policies that ship with Hadron (``arn:aws:iam::aws:policy/…``), read-only.

Layer 4 (pure data): standard library only. Documents follow the AWS Managed Policy Reference
(docs.aws.amazon.com/aws-managed-policy/latest/reference/<Name>.html) as far as it could be read
when this was written; where a document is reduced or partly reconstructed, the entry says so in
an ``UNCONFIRMED`` comment. Every document must parse as an identity policy (a test checks it).

* AdministratorAccess, IAMFullAccess: the real documents.
* ReadOnlyAccess: the real document lists thousands of actions across every AWS service; Hadron
  ships a faithful *reduced* document covering the services Hadron serves (Proton, IAM, STS,
  EC2 VPC endpoints) with the same ``Get*``/``List*``/``Describe*`` shape.
* AWSProtonFullAccess, AWSProtonDeveloperAccess, AWSProtonReadOnlyAccess: the real Sids,
  structure and leading actions; the tails marked UNCONFIRMED are reconstructed from the Proton
  API's read and developer operations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

__all__ = ["AWS_MANAGED_POLICIES", "AwsManagedPolicy", "aws_managed_policy"]


@dataclass(frozen=True, slots=True)
class AwsManagedPolicy:
    name: str
    policy_id: str
    default_version_id: str
    created_at: datetime
    updated_at: datetime
    description: str
    document: str
    path: str = "/"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


_PROTON_READ = [
    f"proton:{op}"
    for op in (
        "GetAccountRoles",
        "GetAccountSettings",
        "GetComponent",
        "GetDeployment",
        "GetEnvironment",
        "GetEnvironmentAccountConnection",
        "GetEnvironmentTemplate",
        "GetEnvironmentTemplateMajorVersion",
        "GetEnvironmentTemplateMinorVersion",
        "GetEnvironmentTemplateVersion",
        "GetRepository",
        "GetRepositorySyncStatus",
        "GetResourcesSummary",
        "GetService",
        "GetServiceInstance",
        "GetServiceInstanceSyncStatus",
        "GetServiceSyncBlockerSummary",
        "GetServiceSyncConfig",
        "GetServiceTemplate",
        "GetServiceTemplateMajorVersion",
        "GetServiceTemplateMinorVersion",
        "GetServiceTemplateVersion",
        "GetTemplateSyncConfig",
        "GetTemplateSyncStatus",
        "ListComponentOutputs",
        "ListComponentProvisionedResources",
        "ListComponents",
        "ListDeployments",
        "ListEnvironmentAccountConnections",
        "ListEnvironmentOutputs",
        "ListEnvironmentProvisionedResources",
        "ListEnvironmentTemplateMajorVersions",
        "ListEnvironmentTemplateMinorVersions",
        "ListEnvironmentTemplateVersions",
        "ListEnvironmentTemplates",
        "ListEnvironments",
        "ListRepositories",
        "ListRepositorySyncDefinitions",
        "ListServiceInstanceOutputs",
        "ListServiceInstanceProvisionedResources",
        "ListServiceInstances",
        "ListServicePipelineOutputs",
        "ListServicePipelineProvisionedResources",
        "ListServiceTemplateMajorVersions",
        "ListServiceTemplateMinorVersions",
        "ListServiceTemplateVersions",
        "ListServiceTemplates",
        "ListServices",
        "ListTagsForResource",
    )
]
_CODEPIPELINE_READ = [
    "codepipeline:ListPipelineExecutions",
    "codepipeline:ListPipelines",
    "codepipeline:GetPipeline",
    "codepipeline:GetPipelineState",
    "codepipeline:GetPipelineExecution",
]

_POLICIES = (
    AwsManagedPolicy(
        name="AdministratorAccess",
        policy_id="ANPAIWMBCKSKIEE64ZLYK",
        default_version_id="v1",
        created_at=_at("2015-02-06T18:39:46"),
        updated_at=_at("2015-02-06T18:39:46"),
        description="Provides full access to AWS services and resources.",
        document=_doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
    ),
    AwsManagedPolicy(
        name="IAMFullAccess",
        # UNCONFIRMED: policy id and version number (the document is the published one).
        policy_id="ANPAI7XKCFMBPM3QQRRVQ",
        default_version_id="v2",
        created_at=_at("2015-02-06T18:40:38"),
        updated_at=_at("2019-06-21T19:40:00"),
        description="Provides full access to IAM via the AWS Management Console.",
        document=_doc(
            [
                {
                    "Effect": "Allow",
                    "Action": [
                        "iam:*",
                        "organizations:DescribeAccount",
                        "organizations:DescribeOrganization",
                        "organizations:DescribeOrganizationalUnit",
                        "organizations:DescribePolicy",
                        "organizations:ListChildren",
                        "organizations:ListParents",
                        "organizations:ListPoliciesForTarget",
                        "organizations:ListRoots",
                        "organizations:ListPolicies",
                        "organizations:ListTargetsForPolicy",
                    ],
                    "Resource": "*",
                },
            ]
        ),
    ),
    AwsManagedPolicy(
        name="ReadOnlyAccess",
        # UNCONFIRMED: policy id. REDUCED document (see the module docstring).
        policy_id="ANPAILL3HVNFSB6DCOWYQ",
        default_version_id="v1",
        created_at=_at("2015-02-06T18:39:48"),
        updated_at=_at("2015-02-06T18:39:48"),
        description="Provides read-only access to AWS services and resources.",
        document=_doc(
            [
                {
                    "Sid": "ReadOnlyAccessReduced",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:Describe*",
                        "ec2:Get*",
                        "iam:Generate*",
                        "iam:Get*",
                        "iam:List*",
                        "iam:Simulate*",
                        "proton:Get*",
                        "proton:List*",
                        "sts:GetAccessKeyInfo",
                        "sts:GetCallerIdentity",
                        "sts:GetSessionToken",
                    ],
                    "Resource": "*",
                }
            ]
        ),
    ),
    AwsManagedPolicy(
        name="AWSProtonFullAccess",
        # UNCONFIRMED: policy id (Hadron's own). The last statement is reconstructed.
        policy_id="ANPAQPROTONFULLACCESS",
        default_version_id="v3",
        created_at=_at("2021-02-17T19:07:00"),
        updated_at=_at("2024-06-06T18:29:00"),
        description=(
            "Provides full access to the AWS Proton APIs and Management Console. In addition to "
            "these permissions, access to Amazon S3 is also needed to register template bundles "
            "from your S3 buckets, as well as access to Amazon IAM to create and manage the "
            "service roles for Proton."
        ),
        document=_doc(
            [
                {
                    "Sid": "ProtonPermissions",
                    "Effect": "Allow",
                    "Action": [
                        "proton:*",
                        "codestar-connections:ListConnections",
                        "kms:ListAliases",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "CreateGrantPermissions",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant"],
                    "Resource": "*",
                    "Condition": {"StringLike": {"kms:ViaService": "proton.*.amazonaws.com"}},
                },
                {
                    "Sid": "PassRolePermissions",
                    "Effect": "Allow",
                    "Action": ["iam:PassRole"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"iam:PassedToService": "proton.amazonaws.com"}},
                },
                {
                    "Sid": "CreateServiceLinkedRolePermissions",
                    "Effect": "Allow",
                    "Action": "iam:CreateServiceLinkedRole",
                    "Resource": "arn:aws:iam::*:role/aws-service-role/sync.proton.amazonaws.com/"
                    "AWSServiceRoleForProtonSync",
                    "Condition": {
                        "StringEquals": {"iam:AWSServiceName": "sync.proton.amazonaws.com"}
                    },
                },
                {
                    # UNCONFIRMED: reconstructed.
                    "Sid": "CodeStarConnectionsPermissions",
                    "Effect": "Allow",
                    "Action": ["codestar-connections:PassConnection"],
                    "Resource": [
                        "arn:aws:codestar-connections:*:*:connection/*",
                        "arn:aws:codeconnections:*:*:connection/*",
                    ],
                    "Condition": {
                        "StringEquals": {
                            "codestar-connections:PassedToService": "proton.amazonaws.com"
                        }
                    },
                },
            ]
        ),
    ),
    AwsManagedPolicy(
        name="AWSProtonDeveloperAccess",
        # UNCONFIRMED: policy id (Hadron's own); the action list after proton:GetEnvironment… is
        # reconstructed: the Proton read operations plus the service-level writes a developer
        # performs (create/update/delete services and their instances and pipelines).
        policy_id="ANPAQPROTONDEVACCESS",
        default_version_id="v4",
        created_at=_at("2021-02-17T19:02:00"),
        updated_at=_at("2024-06-06T18:26:00"),
        description=(
            "Provides access to the AWS Proton APIs and Management Console, but does not allow "
            "administration of Proton templates or environments."
        ),
        document=_doc(
            [
                {
                    "Sid": "ProtonPermissions",
                    "Effect": "Allow",
                    "Action": [
                        "codecommit:ListRepositories",
                        *_CODEPIPELINE_READ,
                        "codestar-connections:ListConnections",
                        "codestar-connections:UseConnection",
                        "proton:CancelServiceInstanceDeployment",
                        "proton:CancelServicePipelineDeployment",
                        "proton:CreateService",
                        "proton:DeleteService",
                        *_PROTON_READ,
                        "proton:UpdateService",
                        "proton:UpdateServiceInstance",
                        "proton:UpdateServicePipeline",
                        "proton:CreateServiceInstance",
                        "proton:CreateServiceSyncConfig",
                        "proton:DeleteServiceSyncConfig",
                        "proton:UpdateServiceSyncConfig",
                        "proton:TagResource",
                        "proton:UntagResource",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "CodeStarConnectionsPermissions",
                    "Effect": "Allow",
                    "Action": ["codestar-connections:PassConnection"],
                    "Resource": [
                        "arn:aws:codestar-connections:*:*:connection/*",
                        "arn:aws:codeconnections:*:*:connection/*",
                    ],
                    "Condition": {
                        "StringEquals": {
                            "codestar-connections:PassedToService": "proton.amazonaws.com"
                        }
                    },
                },
            ]
        ),
    ),
    AwsManagedPolicy(
        name="AWSProtonReadOnlyAccess",
        # UNCONFIRMED: policy id (Hadron's own); the proton action tail is reconstructed from
        # the Proton API's Get*/List* operations.
        policy_id="ANPAQPROTONREADONLY",
        default_version_id="v3",
        created_at=_at("2021-02-17T19:09:00"),
        updated_at=_at("2022-11-18T18:28:00"),
        description="Provides read only access to AWS Proton APIs and Management Console.",
        document=_doc(
            [
                {
                    "Effect": "Allow",
                    "Action": [*_CODEPIPELINE_READ, *_PROTON_READ],
                    "Resource": "*",
                }
            ]
        ),
    ),
)

AWS_MANAGED_POLICIES: Final = MappingProxyType({p.arn: p for p in _POLICIES})
"""The shipped AWS managed policies by ARN, in a stable order (by name)."""


def aws_managed_policy(arn: str) -> AwsManagedPolicy | None:
    return AWS_MANAGED_POLICIES.get(arn)
