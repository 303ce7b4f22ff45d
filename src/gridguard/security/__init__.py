"""Security: who may do what, and the record of what was done.

Principals and their roles (:mod:`.principal`), the access rules every read
and write passes (:mod:`.access`), the hash-chained audit log (:mod:`.audit`),
field encryption at rest (:mod:`.crypto`) and retention (:mod:`.retention`).
The mask functions the model and every output use live below it, in
:mod:`gridguard.masking`.
"""

from .principal import LOCAL_ADMIN, Principal, Role

__all__ = ["LOCAL_ADMIN", "Principal", "Role"]
