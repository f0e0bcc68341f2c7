"""AWS Proton: the control plane's handlers, bundle ingest and the pure cores they use.

Pure modules (no I/O; import-linter's "Pure cores do no I/O" contract): ``arns``, ``bundle``,
``manifest``, ``schema``, ``registration``, ``compatibility``, ``paging``, ``params``,
``quotas``. Handlers (may use the store, like ``hadron.iam.api``): ``templates``, ``versions``,
``tagging``, ``account``, collected by ``api``. Edges: ``sources`` (bundle fetching) and
``registrar`` (the registration worker thread).
"""

__all__: list[str] = []
