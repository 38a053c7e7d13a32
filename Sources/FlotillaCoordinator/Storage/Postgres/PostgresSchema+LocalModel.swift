extension PostgresSchema {
    /// The latest heartbeat's word on the local model of the node's release: 'up', 'down', or
    /// NULL when it reported none. Each heartbeat overwrites it; the time series does not keep it.
    static let localModel = """
        ALTER TABLE node_state ADD COLUMN local_model TEXT;
        """
}
