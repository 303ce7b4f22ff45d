"""The collaborators a :class:`~gridguard.workspace.Workspace` delegates to.

The workspace is the one facade an embedder holds; behind it each concern
has a small module of its own:

* :mod:`~gridguard._workspace.audit`: the audit entries of one workspace,
  and when each is written (with its transaction, with the next write, now);
* :mod:`~gridguard._workspace.access`: the access gate, which checks role
  and scope before a read, a write or a workflow run and audits a refusal;
* :mod:`~gridguard._workspace.records`: reads and batched writes of
  registry entries and facts, each checked by the gate and audited.

Nothing here is public: callers use the workspace's methods.
"""
