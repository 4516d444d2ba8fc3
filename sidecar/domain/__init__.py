"""The domain: each core event applied in one place, checked against what is stored, with
the outbox entries it causes written in the same transaction.

One module per domain (`locations`, `sessions`, `tariffs`, `tokens`, `commands`), plus the
pure parts of the sessions domain (`charging`: the timeline; `session_records`: the Session
and CDR documents) and its group committer of meter values (`meter_commits`). The servicers map
proto to these inputs and back; the store only reads and writes rows.
"""
