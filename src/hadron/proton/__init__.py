"""AWS Proton: templates, bundles, specs, rendering, deployments and provisioning."""
