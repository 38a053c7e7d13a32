extension SQLiteStore {
    /// Signed releases and rollouts (migration "v2-releases").
    static let releasesSchema = """
        CREATE TABLE root_documents (
            version INTEGER PRIMARY KEY NOT NULL,
            envelope BLOB NOT NULL,
            created_at REAL NOT NULL
        );
        -- Content-addressed file contents of every release.
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY NOT NULL,
            size INTEGER NOT NULL,
            data BLOB NOT NULL
        ) WITHOUT ROWID;
        -- One signed manifest per group and release version. `spec` is the group's resolved spec
        -- (JSON PublishGroup) for plans and rollbacks; `envelope` is served to nodes as is.
        CREATE TABLE releases (
            version INTEGER NOT NULL,
            group_name TEXT NOT NULL,
            envelope BLOB NOT NULL,
            digest TEXT NOT NULL,
            spec BLOB NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (version, group_name)
        ) WITHOUT ROWID;
        CREATE INDEX releases_group ON releases(group_name, version);
        CREATE TABLE release_blobs (
            group_name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (group_name, sha256)
        ) WITHOUT ROWID;
        CREATE TABLE rollouts (
            version INTEGER PRIMARY KEY NOT NULL,
            state TEXT NOT NULL,
            reason TEXT,
            created_at REAL NOT NULL
        );
        -- Wave progress per group of a rollout.
        CREATE TABLE rollout_groups (
            version INTEGER NOT NULL REFERENCES rollouts(version),
            group_name TEXT NOT NULL,
            policy BLOB NOT NULL,
            waves INTEGER NOT NULL,
            waves_started INTEGER NOT NULL,
            wave_started_at REAL,
            -- Failures already counted when the rollout was last resumed: the threshold applies
            -- to new ones.
            failure_baseline INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (version, group_name)
        ) WITHOUT ROWID;
        CREATE TABLE rollout_targets (
            version INTEGER NOT NULL REFERENCES rollouts(version),
            node_id TEXT NOT NULL REFERENCES nodes(id),
            group_name TEXT NOT NULL,
            wave INTEGER NOT NULL,
            status TEXT NOT NULL,
            error_code TEXT,
            message TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (version, node_id)
        ) WITHOUT ROWID;
        -- What each node should run and what it last reported.
        CREATE TABLE node_releases (
            node_id TEXT PRIMARY KEY NOT NULL REFERENCES nodes(id),
            desired_version INTEGER NOT NULL,
            group_name TEXT NOT NULL,
            reported_version INTEGER,
            status TEXT NOT NULL,
            error_code TEXT,
            message TEXT,
            updated_at REAL NOT NULL
        ) WITHOUT ROWID;
        """
}
