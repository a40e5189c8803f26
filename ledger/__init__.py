"""The registry ledger: canonical entries, RFC 9162 Merkle tree, signed checkpoints, verification.

Stands alone (standard library + cryptography + rfc8785) so an auditor can use it without the service.
"""
