"""The verifiable log's pure parts (可验证日志): no database, no HTTP.

- ``tree``: RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs (generate
  from any source of complete-subtree hashes, and verify);
- ``leaf``: the leaf data of one event (docs/adr/0050-log-leaf.md);
- ``note``: C2SP signed notes and checkpoints with Ed25519, keys in Go's ``sumdb/note`` form;
- ``tiles``: C2SP tlog-tiles paths, hash tiles and entry bundles;
- ``proof_text``: the C2SP tlog-proof text;
- ``bundle``: yishi's case and whole-log bundles (docs/bundle-format.md) and their checks.

Everything here needs only the standard library, ``cryptography`` and ``orjson`` (the
package's own dependencies), so an auditor's ``yishi audit`` imports no store and no server.
"""
