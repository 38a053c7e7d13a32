import FlotillaProtocol

/// Sanity limits on heartbeat readings, so one broken board cannot fill the database with junk.
enum HeartbeatValidation {
    static let maxTextLength = 128

    static func validate(_ r: HeartbeatRequest) throws(CoordinatorError) {
        for (name, text) in [("agent_version", r.agentVersion), ("arch", r.arch), ("kernel", r.kernel)] {
            if let text, text.utf8.count > maxTextLength {
                throw .invalidRequest("\(name) is longer than \(maxTextLength) bytes")
            }
        }
        if let temperatures = r.temperatures {
            guard temperatures.count <= WireLimits.maxTemperatures else {
                throw .invalidRequest("at most \(WireLimits.maxTemperatures) temperatures per heartbeat")
            }
            for t in temperatures {
                guard t.zone.utf8.count <= maxTextLength, (t.type?.utf8.count ?? 0) <= maxTextLength else {
                    throw .invalidRequest("thermal zone names are limited to \(maxTextLength) bytes")
                }
                guard t.celsius.isFinite, t.celsius > -273.15, t.celsius < 1000 else {
                    throw .invalidRequest("temperature \(t.celsius) °C of \(t.zone) is not plausible")
                }
            }
        }
        if let cpu = r.cpuPercent, !(cpu.isFinite && cpu >= 0 && cpu <= 100.0001) {
            throw .invalidRequest("cpu_percent must be within 0...100")
        }
        for (name, value) in [("uptime_seconds", r.uptimeSeconds), ("load_1m", r.load1m), ("load_5m", r.load5m), ("load_15m", r.load15m)] {
            if let value, !(value.isFinite && value >= 0) { throw .invalidRequest("\(name) must be a non-negative number") }
        }
        for (name, value) in [
            ("mem_total_bytes", r.memTotalBytes), ("mem_available_bytes", r.memAvailableBytes),
            ("disk_total_bytes", r.diskTotalBytes), ("disk_free_bytes", r.diskFreeBytes),
        ] {
            if let value, value < 0 { throw .invalidRequest("\(name) must not be negative") }
        }
        if let localModel = r.localModel, LocalModelHealth(rawValue: localModel) == nil {
            throw .invalidRequest(#"local_model must be "up" or "down""#)
        }
    }
}
