import FlotillaProtocol
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL schema, as versioned migrations: the same tables as the SQLite schema
/// (times as epoch seconds in `double precision`, so `flotilla migrate` copies values as they
/// are), plus what several coordinators need: their membership, the owner of each budget
/// reservation, the audit log's sealed head and the reservation function.
///
/// Migrations run in one transaction each under an advisory lock, so coordinators starting at
/// once apply each exactly once. Never edit a shipped migration; add one.
enum PostgresSchema {
    /// The advisory lock key migrations hold (any constant the fleet's other locks do not use).
    static let migrationLock: Int64 = 0x466c_6f74_0001

    static let migrations: [(id: String, sql: String)] = [
        ("v1-foundation", foundation),
        ("v2-releases", releases),
        ("v3-gateway", gateway),
        ("v4-budgets", budgets),
        ("v5-operations", operations),
        ("v6-reservation-batches", reservationBatches),
        ("v7-fallbacks", fallbacks),
        ("v8-local-model", localModel),
    ]

    /// Attempts of a call that fell back to the model's next target, per roll-up row (they are
    /// not counted in `calls`).
    static let fallbacks = "ALTER TABLE usage_daily ADD COLUMN fallbacks BIGINT NOT NULL DEFAULT 0"

    /// Applies the migrations not applied yet; returns their ids.
    @discardableResult
    static func migrate(_ database: PostgresPool) async throws(CoordinatorError) -> [String] {
        try await database.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
        var applied: [String] = []
        for migration in migrations {
            let logger = database.logger
            let done = try await database.transaction { connection -> Bool in
                try await connection.execute("SELECT pg_advisory_xact_lock(\(migrationLock))", logger)
                let present = try await connection.rows("SELECT 1 FROM schema_migrations WHERE id = \(migration.id)", logger)
                guard present.isEmpty else { return false }
                for statement in statements(migration.sql) {
                    try await connection.execute(PostgresQuery(unsafeSQL: statement), logger)
                }
                try await connection.execute(
                    "INSERT INTO schema_migrations (id, applied_at) VALUES (\(migration.id), \(Date().timeIntervalSince1970))", logger)
                return true
            }
            if done { applied.append(migration.id) }
        }
        return applied
    }

    /// `sql`'s statements, one by one (the extended protocol runs one per query): split after
    /// each line ending in `;`, except inside a `$$`-quoted function body.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quoted = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("--") && current.isEmpty { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { quoted.toggle() }
            if !quoted, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }

    static let foundation = """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value BYTEA NOT NULL
        );
        CREATE TABLE enrollment_tokens (
            id TEXT PRIMARY KEY,
            token_hash BYTEA NOT NULL UNIQUE,
            group_name TEXT NOT NULL,
            uses BIGINT NOT NULL,
            uses_left BIGINT NOT NULL,
            require_approval BOOLEAN NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        );
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            group_name TEXT NOT NULL,
            admin_state TEXT NOT NULL,
            enrolled_at DOUBLE PRECISION NOT NULL,
            token_id TEXT REFERENCES enrollment_tokens(id),
            certificate_expires_at DOUBLE PRECISION NOT NULL,
            state_changed_at DOUBLE PRECISION NOT NULL,
            certificate_serial TEXT,
            pending_certificate_serial TEXT,
            pending_certificate_expires_at DOUBLE PRECISION
        );
        CREATE INDEX nodes_group ON nodes(group_name);
        -- Names are unique whatever their case, as enrollment checks.
        CREATE UNIQUE INDEX nodes_name_nocase ON nodes(lower(name));
        CREATE TABLE node_state (
            node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
            last_seen DOUBLE PRECISION NOT NULL,
            sequence BIGINT,
            agent_version TEXT,
            arch TEXT,
            kernel TEXT,
            uptime_seconds DOUBLE PRECISION,
            load_1m DOUBLE PRECISION,
            load_5m DOUBLE PRECISION,
            load_15m DOUBLE PRECISION,
            cpu_percent DOUBLE PRECISION,
            mem_total_bytes BIGINT,
            mem_available_bytes BIGINT,
            disk_total_bytes BIGINT,
            disk_free_bytes BIGINT,
            temperature_c DOUBLE PRECISION,
            temperatures TEXT
        );
        -- Append-only, in arrival order; a BRIN index on time costs writes next to nothing and
        -- serves pruning, the roll-up's scan and a chart's recent rows.
        CREATE TABLE heartbeats (
            node_id TEXT NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            cpu_percent DOUBLE PRECISION,
            load_1m DOUBLE PRECISION,
            mem_available_bytes BIGINT,
            disk_free_bytes BIGINT,
            temperature_c DOUBLE PRECISION,
            uptime_seconds DOUBLE PRECISION
        );
        CREATE INDEX heartbeats_received ON heartbeats USING brin (received_at);
        CREATE TABLE heartbeat_minutes (
            node_id TEXT NOT NULL,
            minute BIGINT NOT NULL,
            samples BIGINT NOT NULL,
            cpu_sum DOUBLE PRECISION NOT NULL,
            cpu_count BIGINT NOT NULL,
            cpu_max DOUBLE PRECISION,
            mem_available_min BIGINT,
            disk_free_min BIGINT,
            temperature_sum DOUBLE PRECISION NOT NULL,
            temperature_count BIGINT NOT NULL,
            temperature_max DOUBLE PRECISION,
            PRIMARY KEY (node_id, minute)
        );
        CREATE INDEX heartbeat_minutes_minute ON heartbeat_minutes(minute);
        """

    static let releases = """
        CREATE TABLE root_documents (
            version BIGINT PRIMARY KEY,
            envelope BYTEA NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            size BIGINT NOT NULL,
            data BYTEA NOT NULL
        );
        CREATE TABLE releases (
            version BIGINT NOT NULL,
            group_name TEXT NOT NULL,
            envelope BYTEA NOT NULL,
            digest TEXT NOT NULL,
            spec BYTEA NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (version, group_name)
        );
        CREATE INDEX releases_group ON releases(group_name, version);
        CREATE TABLE release_blobs (
            group_name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (group_name, sha256)
        );
        CREATE TABLE rollouts (
            version BIGINT PRIMARY KEY,
            state TEXT NOT NULL,
            reason TEXT,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE rollout_groups (
            version BIGINT NOT NULL REFERENCES rollouts(version),
            group_name TEXT NOT NULL,
            policy BYTEA NOT NULL,
            waves BIGINT NOT NULL,
            waves_started BIGINT NOT NULL,
            wave_started_at DOUBLE PRECISION,
            failure_baseline BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (version, group_name)
        );
        CREATE TABLE rollout_targets (
            version BIGINT NOT NULL REFERENCES rollouts(version),
            node_id TEXT NOT NULL REFERENCES nodes(id),
            group_name TEXT NOT NULL,
            wave BIGINT NOT NULL,
            status TEXT NOT NULL,
            error_code TEXT,
            message TEXT,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (version, node_id)
        );
        CREATE INDEX rollout_targets_node ON rollout_targets(node_id, version);
        CREATE INDEX rollout_targets_waiting ON rollout_targets(group_name, status) WHERE status = 'waiting';
        CREATE TABLE node_releases (
            node_id TEXT PRIMARY KEY REFERENCES nodes(id),
            desired_version BIGINT NOT NULL,
            group_name TEXT NOT NULL,
            reported_version BIGINT,
            status TEXT NOT NULL,
            error_code TEXT,
            message TEXT,
            updated_at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX node_releases_desired ON node_releases(desired_version, group_name);
        """

    static let gateway = """
        CREATE TABLE provider_secrets (
            provider TEXT PRIMARY KEY,
            sealed BYTEA NOT NULL,
            set_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE gateway_keys (
            node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
            key_hash BYTEA NOT NULL UNIQUE,
            key_id TEXT NOT NULL,
            issued_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE gateway_configs (
            version BIGINT PRIMARY KEY,
            spec BYTEA NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE price_tables (
            version BIGINT PRIMARY KEY,
            price_table BYTEA NOT NULL,
            created_at DOUBLE PRECISION NOT NULL
        );
        CREATE TABLE usage (
            id BIGSERIAL PRIMARY KEY,
            request_id TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            upstream_model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            streamed BOOLEAN NOT NULL,
            input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL,
            cache_write_tokens BIGINT NOT NULL,
            cost_nanos BIGINT NOT NULL,
            price_version BIGINT,
            latency_ms DOUBLE PRECISION NOT NULL,
            ttfb_ms DOUBLE PRECISION,
            status BIGINT NOT NULL,
            outcome TEXT NOT NULL,
            usage_source TEXT NOT NULL,
            error_code TEXT
        );
        CREATE INDEX usage_at ON usage(at);
        CREATE INDEX usage_request ON usage(request_id);
        CREATE TABLE usage_daily (
            day TEXT NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            calls BIGINT NOT NULL,
            refused BIGINT NOT NULL,
            failed BIGINT NOT NULL,
            input_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            cached_tokens BIGINT NOT NULL,
            cost_nanos BIGINT NOT NULL,
            PRIMARY KEY (day, node_id, group_name, provider, model)
        );
        CREATE INDEX usage_daily_node ON usage_daily(node_id, day);
        """

    static let budgets = """
        CREATE TABLE budget_counters (
            scope TEXT NOT NULL,
            period TEXT NOT NULL,
            period_key TEXT NOT NULL,
            spent_nanos BIGINT NOT NULL,
            reserved_nanos BIGINT NOT NULL,
            -- Whether the counter refused a call (views show it exhausted).
            refused BOOLEAN NOT NULL DEFAULT false,
            PRIMARY KEY (scope, period, period_key)
        );
        -- Calls in flight ('open', held by coordinator `coordinator_id`) and calls whose
        -- coordinator died before they settled ('unsettled': charged at their amount).
        CREATE TABLE budget_reservations (
            request_id TEXT PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            amount_nanos BIGINT NOT NULL,
            counters BYTEA NOT NULL,
            state TEXT NOT NULL,
            settled_at DOUBLE PRECISION,
            coordinator_id TEXT NOT NULL
        );
        CREATE INDEX budget_reservations_open ON budget_reservations(coordinator_id) WHERE state = 'open';
        -- Checks every counter of a reservation and holds its amount on all of them, atomically,
        -- whichever coordinator calls: the counters are locked in key order (callers sort them,
        -- so two reservations never wait on each other in a cycle). Returns no row when the
        -- amount was reserved, else the 1-based index of the counter it would overrun (the one
        -- that resets last) with that counter's figures.
        CREATE FUNCTION flotilla_reserve(
            p_request TEXT, p_at DOUBLE PRECISION, p_node TEXT, p_group TEXT, p_amount BIGINT, p_counters BYTEA,
            p_coordinator TEXT, p_scopes TEXT[], p_periods TEXT[], p_keys TEXT[], p_limits BIGINT[], p_resets DOUBLE PRECISION[])
        RETURNS TABLE (refused_index BIGINT, spent BIGINT, reserved BIGINT)
        LANGUAGE plpgsql AS $$
        DECLARE
            overrun RECORD;
        BEGIN
            INSERT INTO budget_counters (scope, period, period_key, spent_nanos, reserved_nanos)
                SELECT s, p, k, 0, 0 FROM unnest(p_scopes, p_periods, p_keys) AS t(s, p, k) ORDER BY s, p, k
                ON CONFLICT DO NOTHING;
            PERFORM 1 FROM budget_counters c
                WHERE (c.scope, c.period, c.period_key) IN (SELECT * FROM unnest(p_scopes, p_periods, p_keys))
                ORDER BY c.scope, c.period, c.period_key FOR UPDATE;
            SELECT t.i, c.spent_nanos, c.reserved_nanos INTO overrun
                FROM unnest(p_scopes, p_periods, p_keys, p_limits, p_resets) WITH ORDINALITY AS t(s, p, k, lim, resets, i)
                JOIN budget_counters c ON c.scope = t.s AND c.period = t.p AND c.period_key = t.k
                WHERE c.spent_nanos::numeric + c.reserved_nanos + p_amount > t.lim
                ORDER BY t.resets DESC, t.i LIMIT 1;
            IF FOUND THEN
                UPDATE budget_counters c SET refused = true
                    FROM unnest(p_scopes, p_periods, p_keys) WITH ORDINALITY AS t(s, p, k, i)
                    WHERE t.i = overrun.i AND c.scope = t.s AND c.period = t.p AND c.period_key = t.k AND NOT c.refused;
                refused_index := overrun.i;
                spent := overrun.spent_nanos;
                reserved := overrun.reserved_nanos;
                RETURN NEXT;
                RETURN;
            END IF;
            UPDATE budget_counters c SET reserved_nanos = c.reserved_nanos + p_amount
                FROM unnest(p_scopes, p_periods, p_keys) AS t(s, p, k)
                WHERE c.scope = t.s AND c.period = t.p AND c.period_key = t.k;
            INSERT INTO budget_reservations (request_id, at, node_id, group_name, amount_nanos, counters, state, coordinator_id)
                VALUES (p_request, p_at, p_node, p_group, p_amount, p_counters, 'open', p_coordinator);
            RETURN;
        END
        $$;
        CREATE TABLE events (
            id BIGSERIAL PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            message TEXT NOT NULL,
            once_key TEXT UNIQUE
        );
        CREATE INDEX events_at ON events(at);
        """

    static let operations = """
        CREATE TABLE audit_log (
            sequence BIGINT PRIMARY KEY,
            at TEXT NOT NULL,
            at_epoch DOUBLE PRECISION NOT NULL,
            actor TEXT NOT NULL,
            source TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            details TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_at ON audit_log(at_epoch);
        -- The newest entry's number and hash with an HMAC under a key derived from the master
        -- key: a database-only writer can neither cut the log's end unseen nor forge this row.
        CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            sequence BIGINT NOT NULL,
            hash TEXT NOT NULL,
            mac BYTEA NOT NULL
        );
        CREATE TABLE dashboard_sessions (
            id_hash TEXT PRIMARY KEY,
            signed_in_with TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        );
        -- The coordinators sharing this database, each announcing itself every few seconds.
        CREATE TABLE coordinators (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            seen_at DOUBLE PRECISION NOT NULL
        );
        """
}
