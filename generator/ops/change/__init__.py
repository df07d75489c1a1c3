"""Changing a value: `put` (also the manual rotation) and `rollback`, and the provider check a put passes first.

- `values`: reading and checking a credential document without ever repeating it;
- `provider`: the provider's own check of a credential, and the gate before a put;
- `versions`: a secret's versions and staging labels, and the label moves;
- `settle`: after a failure, what the regions hold, said truthfully;
- `put`, `rollback`: the two-phase change across regions, and its undoing.
"""
