"""The state database schema, as an ordered list of migrations.

``PRAGMA user_version`` holds how many migrations a database has seen. A fresh
database runs them all; an older one runs the ones it is missing, in place, in
one transaction each. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, their phases and the issues they link.
    """
    CREATE TABLE runs (
        id            TEXT PRIMARY KEY,
        plan_path     TEXT NOT NULL,
        plan_title    TEXT NOT NULL,
        status        TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        completed_at  TEXT
    );
    CREATE TABLE phases (
        run_id      TEXT NOT NULL REFERENCES runs(id),
        phase_id    TEXT NOT NULL,
        title       TEXT NOT NULL,
        position    INTEGER NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT,
        changed_at  TEXT NOT NULL,
        PRIMARY KEY (run_id, phase_id)
    );
    CREATE TABLE linked_issues (
        run_id       TEXT NOT NULL REFERENCES runs(id),
        phase_id     TEXT,
        platform     TEXT NOT NULL,
        ref          TEXT NOT NULL,
        display_key  TEXT NOT NULL,
        position     INTEGER NOT NULL,
        PRIMARY KEY (run_id, platform, ref)
    );
    CREATE INDEX runs_started ON runs (started_at);
    """,
    # 2: what was delivered, for re-run protection; the per-phase event log.
    """
    CREATE TABLE completed_features (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL,
        completed_at  TEXT NOT NULL,
        plan_path     TEXT NOT NULL,
        run_id        TEXT
    );
    CREATE TABLE completed_feature_issues (
        feature_id  INTEGER NOT NULL REFERENCES completed_features(id),
        platform    TEXT NOT NULL,
        ref         TEXT NOT NULL,
        PRIMARY KEY (feature_id, platform, ref)
    );
    CREATE INDEX completed_feature_issues_ref ON completed_feature_issues (platform, ref);
    CREATE TABLE phase_events (
        id        INTEGER PRIMARY KEY,
        run_id    TEXT NOT NULL,
        phase_id  TEXT NOT NULL,
        status    TEXT NOT NULL,
        reason    TEXT,
        source    TEXT NOT NULL,
        at        TEXT NOT NULL
    );
    CREATE INDEX phase_events_run ON phase_events (run_id, id);
    ALTER TABLE runs ADD COLUMN auto_close INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN github_repo TEXT;
    """,
    # 3: the tracker side: last snapshot per issue, pushes made, syncs run.
    """
    CREATE TABLE tracker_snapshots (
        platform         TEXT NOT NULL,
        ref              TEXT NOT NULL,
        state            TEXT,
        state_reason     TEXT,
        status_category  TEXT,
        labels           TEXT NOT NULL,
        last_updated     TEXT,
        seen_at          TEXT NOT NULL,
        PRIMARY KEY (platform, ref)
    );
    CREATE TABLE tracker_pushes (
        id        INTEGER PRIMARY KEY,
        run_id    TEXT NOT NULL,
        phase_id  TEXT,
        platform  TEXT NOT NULL,
        ref       TEXT NOT NULL,
        action    TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        detail    TEXT,
        at        TEXT NOT NULL
    );
    CREATE INDEX tracker_pushes_run ON tracker_pushes (run_id, id);
    CREATE TABLE sync_history (
        id         INTEGER PRIMARY KEY,
        run_id     TEXT NOT NULL,
        at         TEXT NOT NULL,
        actor      TEXT NOT NULL,
        direction  TEXT NOT NULL,
        applied    INTEGER NOT NULL,
        outcome    TEXT NOT NULL,
        actions    TEXT NOT NULL,
        results    TEXT NOT NULL
    );
    CREATE INDEX sync_history_at ON sync_history (at);
    """,
    # 4: plans are living documents (docs/STATUS_AND_SYNC.md). A phase untouched since the
    # run started has changed_at NULL (the tracker counts as newer): rebuilt because
    # SQLite cannot drop NOT NULL in place. Rows whose phase never had an event and
    # still carry the run's start time were never touched, so they become NULL.
    # Phases remember their file (identity across renumbering) and when they left
    # the plan; issues the plan stopped linking, and every plan change seen, are kept.
    """
    CREATE TABLE phases_v4 (
        run_id      TEXT NOT NULL REFERENCES runs(id),
        phase_id    TEXT NOT NULL,
        title       TEXT NOT NULL,
        position    INTEGER NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT,
        changed_at  TEXT,
        file        TEXT,
        removed_at  TEXT,
        PRIMARY KEY (run_id, phase_id)
    );
    INSERT INTO phases_v4 (run_id, phase_id, title, position, status, reason, changed_at)
        SELECT p.run_id, p.phase_id, p.title, p.position, p.status, p.reason,
            CASE
                WHEN EXISTS (SELECT 1 FROM phase_events e
                             WHERE e.run_id = p.run_id AND e.phase_id = p.phase_id)
                  OR p.changed_at <> (SELECT r.started_at FROM runs r WHERE r.id = p.run_id)
                THEN p.changed_at
                ELSE NULL
            END
        FROM phases p;
    DROP TABLE phases;
    ALTER TABLE phases_v4 RENAME TO phases;
    ALTER TABLE runs ADD COLUMN plan_fingerprint TEXT;
    CREATE TABLE unlinked_issues (
        run_id       TEXT NOT NULL REFERENCES runs(id),
        phase_id     TEXT,
        platform     TEXT NOT NULL,
        ref          TEXT NOT NULL,
        display_key  TEXT NOT NULL,
        unlinked_at  TEXT NOT NULL,
        PRIMARY KEY (run_id, platform, ref)
    );
    CREATE TABLE plan_changes (
        id        INTEGER PRIMARY KEY,
        run_id    TEXT NOT NULL,
        seen_at   TEXT NOT NULL,
        kind      TEXT NOT NULL,
        subject   TEXT NOT NULL,
        phase_id  TEXT,
        change    TEXT NOT NULL
    );
    CREATE INDEX plan_changes_run ON plan_changes (run_id, id);
    """,
    # 5: saved sync plans that were applied (`sync --apply FILE`), so a retried CI job
    # cannot apply the same reviewed plan twice. The primary key is the guard.
    """
    CREATE TABLE applied_plans (
        id          TEXT PRIMARY KEY,
        run_id      TEXT NOT NULL,
        direction   TEXT NOT NULL,
        made_at     TEXT NOT NULL,
        applied_at  TEXT NOT NULL,
        digest      TEXT NOT NULL
    );
    """,
    # 6: a person's state a lifecycle event left as is (docs/STATUS_AND_SYNC.md, "Who
    # changed last"): while the issue still shows it, its drift reads `newer: tracker`.
    # The row goes when Debussy changes that state itself.
    """
    CREATE TABLE person_holds (
        run_id            TEXT NOT NULL,
        platform          TEXT NOT NULL,
        ref               TEXT NOT NULL,
        state             TEXT,
        state_reason      TEXT,
        status_category   TEXT,
        state_changed_at  TEXT,
        held_at           TEXT NOT NULL,
        PRIMARY KEY (run_id, platform, ref)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
