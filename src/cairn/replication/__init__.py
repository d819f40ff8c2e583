"""Copying versions between stores (issue 22): ``cairn sync``, ``cairn mirror`` and imports.

A ``Source`` (``source.py``) yields what moves as plain records (``records.py``): the
selected collections, their versions oldest first, the runs they name, and each version's
blobs on demand. The engine (``engine.py``) writes them into any destination ``Backend``
through its replication verbs (``protocol.Backend.replicate_version`` and friends), once
per sync record, so a run can be interrupted and repeated. The rules of what a copy keeps
(numbers, ``created_at``, aliases and their conflicts, registry links) are the
destination's service's (``cairn.service.replication``), as for any other write.
"""
