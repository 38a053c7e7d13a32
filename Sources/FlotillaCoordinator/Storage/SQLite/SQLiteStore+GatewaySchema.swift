extension SQLiteStore {
    /// The LLM gateway: provider keys (sealed), node gateway keys (hashes), the gateway
    /// configuration and prices, and the usage ledger (migration "v3-gateway").
    static let gatewaySchema = """
        -- Provider API keys, AES-256-GCM sealed with the master key (which is never in this file).
        CREATE TABLE provider_secrets (
            provider TEXT PRIMARY KEY NOT NULL,
            sealed BLOB NOT NULL,
            set_at REAL NOT NULL
        );
        -- A node's current gateway key: only its SHA-256; key_id is the first 16 hex digits.
        CREATE TABLE gateway_keys (
            node_id TEXT PRIMARY KEY NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
            key_hash BLOB NOT NULL UNIQUE,
            key_id TEXT NOT NULL,
            issued_at REAL NOT NULL
        ) WITHOUT ROWID;
        -- Every gateway configuration published; the highest version is in force.
        CREATE TABLE gateway_configs (
            version INTEGER PRIMARY KEY NOT NULL,
            spec BLOB NOT NULL,
            created_at REAL NOT NULL
        );
        -- Every price table by its version: a version names one table forever.
        CREATE TABLE price_tables (
            version INTEGER PRIMARY KEY NOT NULL,
            price_table BLOB NOT NULL,
            created_at REAL NOT NULL
        );
        -- One row per gateway call, appended in time order (rowid order is time order).
        CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            request_id TEXT NOT NULL,
            at REAL NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            upstream_model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            streamed INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cost_nanos INTEGER NOT NULL,
            price_version INTEGER,
            latency_ms REAL NOT NULL,
            ttfb_ms REAL,
            status INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            usage_source TEXT NOT NULL,
            error_code TEXT
        );
        CREATE INDEX usage_at ON usage(at);
        CREATE INDEX usage_request ON usage(request_id);
        -- Per UTC day, node, group, provider and model: what the fleet view and cost columns read.
        CREATE TABLE usage_daily (
            day TEXT NOT NULL,
            node_id TEXT NOT NULL,
            group_name TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            calls INTEGER NOT NULL,
            refused INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            cost_nanos INTEGER NOT NULL,
            PRIMARY KEY (day, node_id, group_name, provider, model)
        ) WITHOUT ROWID;
        """
}
