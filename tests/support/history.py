"""Grow a database's history tables fast, with plain SQL (SQLite and PostgreSQL)."""

from __future__ import annotations


def history_statements(dialect: str, user_id: int, first_seq: int, rows: int) -> list[str]:
    """SQL adding `rows` old rows to each history table for `user_id`, then ANALYZE.

    Audit rows take seq first_seq + 1 ... (the head moves past them); their
    hashes are dummies, so the chain does not verify afterwards.
    """
    numbers = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})"
    old = "now() - interval '3 days'" if dialect == "postgresql" else "datetime('now', '-3 days')"
    recent = (
        "now() - interval '1 hour'" if dialect == "postgresql" else "datetime('now', '-1 hour')"
    )
    # Keys: one in 20 expired (what the purges delete, a batch at a time), the rest live.
    key_time = f"CASE WHEN i % 20 = 0 THEN {old} ELSE {recent} END"
    return [
        f"""{numbers} INSERT INTO attempts (user_id, status, recipient_email, registrable_domain,
            sender_email, subject, legal_basis, region, reason, checks, duplicate_key,
            message_id, created_at, updated_at, sent_at)
        SELECT {user_id}, 'sent', 'hist' || i || '@hist' || (i % 500) || '.example',
            'hist' || (i % 500) || '.example', 'me@sender.example', 'old', 'legitimate_interest',
            'US', 'ok', '[]', 'idem' || i, '<m' || i || '@sender.example>', {old}, {old}, {old}
        FROM n""",
        f"""{numbers} INSERT INTO audit_entries (seq, created_at, event, user_id, lead_email,
            details, prev_hash, entry_hash, chain_version)
        SELECT {first_seq} + i, {old}, 'policy_validate', {user_id},
            'hist' || i || '@hist.example', '{{}}', 'x', 'y', 2
        FROM n""",
        f"UPDATE audit_head SET last_seq = last_seq + {rows}, chain_version = 2",
        f"""{numbers} INSERT INTO suppressions (user_id, kind, value, mailbox, source, created_at)
        SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE {user_id} END, 'email',
            'hist' || i || '@supp' || (i % 1000) || '.example',
            'hist' || i || '@supp' || (i % 1000) || '.example', 'import', {old}
        FROM n""",
        f"""{numbers} INSERT INTO send_keys (user_id, key_hash, state, attempt_id, created_at,
            used_at)
        SELECT {user_id}, 'key' || i, 'used', i, {key_time}, {key_time} FROM n""",
        f"""{numbers} INSERT INTO request_keys (user_id, key, request_hash, state,
            response_status, response_body, created_at)
        SELECT {user_id}, 'rk' || i, 'h', 'done', 200, '{{}}', {key_time} FROM n""",
        "ANALYZE",
    ]
