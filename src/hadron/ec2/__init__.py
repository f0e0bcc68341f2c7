"""The EC2 subset Hadron serves: VPCs, subnets, security groups and VPC interface endpoints.

Pure cores (no I/O, below the store): :mod:`hadron.ec2.ids`, :mod:`hadron.ec2.addresses`,
:mod:`hadron.ec2.zones`, :mod:`hadron.ec2.filters`, :mod:`hadron.ec2.services`,
:mod:`hadron.ec2.policies`. Above the store: :mod:`hadron.ec2.params` and
:mod:`hadron.ec2.shapes` (request values in, response structures out, over the store's
records), and the handlers :mod:`hadron.ec2.network` (VPCs, subnets, security groups) and
:mod:`hadron.ec2.endpoints` (endpoints, endpoint services, interfaces). Import-linter
contracts in ``pyproject.toml`` keep that order. This package module imports nothing, so the
store may use the pure cores without an import cycle.
"""

__all__: list[str] = []
