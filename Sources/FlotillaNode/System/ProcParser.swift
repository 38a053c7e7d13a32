/// Parsers for the kernel's /proc text formats. They take bytes rather than paths so tests can
/// feed sample or malformed text; each returns nil when the reading cannot be taken.
enum ProcParser {
    /// First field of /proc/uptime: seconds since boot.
    static func uptime(_ text: [UInt8]) -> Double? {
        guard let first = SystemText.fields(text[...]).first,
              let value = NumberText.parseDouble(first), value >= 0 else { return nil }
        return value
    }

    /// First three fields of /proc/loadavg.
    static func loadAverage(_ text: [UInt8]) -> LoadAverage? {
        let fields = SystemText.fields(text[...])
        guard fields.count >= 3,
              let one = NumberText.parseDouble(fields[0]),
              let five = NumberText.parseDouble(fields[1]),
              let fifteen = NumberText.parseDouble(fields[2]),
              one >= 0, five >= 0, fifteen >= 0 else { return nil }
        return LoadAverage(one: one, five: five, fifteen: fifteen)
    }

    /// The aggregate `cpu` line of /proc/stat as busy/total jiffies.
    /// Idle time is idle + iowait; total is user..steal (guest time is already inside user).
    static func cpuSample(_ text: [UInt8]) -> CPUSample? {
        for line in SystemText.lines(text) {
            let fields = SystemText.fields(line)
            guard let name = fields.first, SystemText.equals(name, "cpu") else { continue }
            var values: [UInt64] = []
            for field in fields.dropFirst().prefix(8) {
                guard let value = NumberText.parseInt64(field), value >= 0 else { return nil }
                values.append(UInt64(value))
            }
            guard values.count >= 4 else { return nil }
            var total: UInt64 = 0
            for value in values { total &+= value }
            let idle = values[3] &+ (values.count > 4 ? values[4] : 0)
            return CPUSample(total: total, idle: idle)
        }
        return nil
    }

    /// Percentage of non-idle time between two samples; nil when no time elapsed or the
    /// counters went backwards.
    static func cpuPercent(from earlier: CPUSample, to later: CPUSample) -> Double? {
        guard later.total > earlier.total, later.idle >= earlier.idle else { return nil }
        let total = later.total - earlier.total
        let idle = later.idle - earlier.idle
        guard idle <= total else { return nil }
        return Double(total - idle) * 100.0 / Double(total)
    }

    /// MemTotal and MemAvailable of /proc/meminfo, in bytes. Nil when MemTotal is missing;
    /// `availableBytes` is nil on kernels without MemAvailable.
    static func memory(_ text: [UInt8]) -> MemoryReading? {
        var total: Int64?
        var available: Int64?
        for line in SystemText.lines(text) {
            let fields = SystemText.fields(line)
            guard fields.count >= 2 else { continue }
            let isTotal = SystemText.equals(fields[0], "MemTotal:")
            let isAvailable = SystemText.equals(fields[0], "MemAvailable:")
            guard isTotal || isAvailable,
                  let value = NumberText.parseInt64(fields[1]), value >= 0 else { continue }
            var multiplier: Int64 = 1
            if fields.count >= 3, SystemText.equals(fields[2], "kB") { multiplier = 1024 }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { continue }
            if isTotal { total = bytes } else { available = bytes }
        }
        guard let total else { return nil }
        return MemoryReading(totalBytes: total, availableBytes: available)
    }

    /// A thermal zone's `temp` file (millidegrees Celsius) as degrees.
    static func millidegrees(_ text: [UInt8]) -> Double? {
        guard let value = NumberText.parseInt64(SystemText.trimmed(text[...])) else { return nil }
        return Double(value) / 1000.0
    }
}

/// /proc/loadavg's 1, 5 and 15 minute averages.
struct LoadAverage {
    var one: Double
    var five: Double
    var fifteen: Double

    /// Creates a reading.
    init(one: Double, five: Double, fifteen: Double) {
        self.one = one
        self.five = five
        self.fifteen = fifteen
    }
}

/// Cumulative CPU jiffies from /proc/stat.
struct CPUSample {
    var total: UInt64
    var idle: UInt64

    /// Creates a sample from counters.
    init(total: UInt64, idle: UInt64) {
        self.total = total
        self.idle = idle
    }
}

/// Memory totals in bytes.
struct MemoryReading {
    var totalBytes: Int64
    var availableBytes: Int64?

    /// Creates a reading.
    init(totalBytes: Int64, availableBytes: Int64?) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
    }
}

/// Filesystem size of the state directory's filesystem, in bytes.
struct DiskReading {
    var totalBytes: Int64
    var freeBytes: Int64

    /// Creates a reading.
    init(totalBytes: Int64, freeBytes: Int64) {
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
    }
}
