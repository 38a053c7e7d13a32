/// Body of `POST /v1/heartbeat`: the board's current readings. Every reading is optional; one
/// the agent could not take is omitted and the coordinator stores null.
struct HeartbeatRequest {
    var sequence: Int64
    var agentVersion: String
    var arch: String?
    var kernel: String?
    var uptimeSeconds: Double?
    var load1m: Double?
    var load5m: Double?
    var load15m: Double?
    var cpuPercent: Double?
    var memTotalBytes: Int64?
    var memAvailableBytes: Int64?
    var diskTotalBytes: Int64?
    var diskFreeBytes: Int64?
    /// Thermal zones; empty when the board has none.
    var temperatures: [ThermalReading]
    /// `up` or `down`: whether the installed release's local model answers (LocalModelCheck);
    /// nil when it declares none.
    var localModel: String?

    /// Creates a heartbeat with only the mandatory fields; readings are filled in afterwards.
    init(sequence: Int64, agentVersion: String) {
        self.sequence = sequence
        self.agentVersion = agentVersion
        self.temperatures = []
    }

    /// Decodes a heartbeat (used by tests against the shared fixture).
    init(json: JSONValue) throws(NodeError) {
        sequence = try json.requiredInt("sequence")
        agentVersion = try json.requiredString("agent_version")
        arch = json["arch"]?.stringValue
        kernel = json["kernel"]?.stringValue
        uptimeSeconds = try json.optionalDouble("uptime_seconds")
        load1m = try json.optionalDouble("load_1m")
        load5m = try json.optionalDouble("load_5m")
        load15m = try json.optionalDouble("load_15m")
        cpuPercent = try json.optionalDouble("cpu_percent")
        memTotalBytes = try json.optionalInt("mem_total_bytes")
        memAvailableBytes = try json.optionalInt("mem_available_bytes")
        diskTotalBytes = try json.optionalInt("disk_total_bytes")
        diskFreeBytes = try json.optionalInt("disk_free_bytes")
        localModel = json["local_model"]?.stringValue
        temperatures = []
        for entry in json["temperatures"]?.arrayValue ?? [] {
            temperatures.append(ThermalReading(
                zone: try entry.requiredString("zone"),
                type: try entry.requiredString("type"),
                celsius: try entry.optionalDouble("celsius") ?? .nan))
        }
    }

    /// Copies the readings of a `SystemReadings` snapshot into this heartbeat.
    mutating func apply(_ readings: SystemReadings) {
        arch = readings.arch
        kernel = readings.kernel
        uptimeSeconds = readings.uptimeSeconds
        load1m = readings.load?.one
        load5m = readings.load?.five
        load15m = readings.load?.fifteen
        cpuPercent = readings.cpuPercent
        memTotalBytes = readings.memory?.totalBytes
        memAvailableBytes = readings.memory?.availableBytes
        diskTotalBytes = readings.disk?.totalBytes
        diskFreeBytes = readings.disk?.freeBytes
        temperatures = readings.temperatures
    }

    /// The JSON body to send; absent readings are left out.
    func json() -> JSONValue {
        var members = [
            JSONMember("sequence", .int(sequence)),
            JSONMember("agent_version", .string(agentVersion)),
        ]
        if let arch { members.append(JSONMember("arch", .string(arch))) }
        if let kernel { members.append(JSONMember("kernel", .string(kernel))) }
        Self.add("uptime_seconds", uptimeSeconds, to: &members)
        Self.add("load_1m", load1m, to: &members)
        Self.add("load_5m", load5m, to: &members)
        Self.add("load_15m", load15m, to: &members)
        Self.add("cpu_percent", cpuPercent, to: &members)
        if let memTotalBytes { members.append(JSONMember("mem_total_bytes", .int(memTotalBytes))) }
        if let memAvailableBytes { members.append(JSONMember("mem_available_bytes", .int(memAvailableBytes))) }
        if let diskTotalBytes { members.append(JSONMember("disk_total_bytes", .int(diskTotalBytes))) }
        if let diskFreeBytes { members.append(JSONMember("disk_free_bytes", .int(diskFreeBytes))) }
        var zones: [JSONValue] = []
        for reading in temperatures where reading.celsius.isFinite {
            zones.append(.object([
                JSONMember("zone", .string(reading.zone)),
                JSONMember("type", .string(reading.type)),
                JSONMember("celsius", .double(reading.celsius)),
            ]))
        }
        members.append(JSONMember("temperatures", .array(zones)))
        if let localModel { members.append(JSONMember("local_model", .string(localModel))) }
        return .object(members)
    }

    private static func add(_ key: String, _ value: Double?, to members: inout [JSONMember]) {
        guard let value, value.isFinite else { return }
        members.append(JSONMember(key, .double(value)))
    }
}

/// One thermal zone reading, e.g. `thermal_zone0` / `cpu-thermal` / 48.312 °C.
struct ThermalReading {
    var zone: String
    var type: String
    var celsius: Double

    /// Creates a reading.
    init(zone: String, type: String, celsius: Double) {
        self.zone = zone
        self.type = type
        self.celsius = celsius
    }
}
