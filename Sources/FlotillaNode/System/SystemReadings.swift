import CFlotillaSystem

/// One snapshot of the board's health, as reported in a heartbeat. A reading that could not be
/// taken is nil (or, for temperatures, simply absent).
struct SystemReadings {
    var arch: String?
    var kernel: String?
    var uptimeSeconds: Double?
    var load: LoadAverage?
    var cpuPercent: Double?
    var memory: MemoryReading?
    var disk: DiskReading?
    var temperatures: [ThermalReading] = []

    /// An empty snapshot.
    init() {}

    /// Reads every source: uname, /proc, statvfs of `diskPath`, /sys/class/thermal.
    /// `cpu` keeps the previous /proc/stat sample so CPU% covers the time since the last call;
    /// on the first call two samples are taken 250 ms apart.
    static func collect(diskPath: String, cpu: inout CPUSample?) -> SystemReadings {
        var readings = SystemReadings()
        let identity = SystemIdentity.current()
        readings.arch = identity.machine
        readings.kernel = identity.release
        if let text = try? FileIO.read("/proc/uptime", maxBytes: 4096) {
            readings.uptimeSeconds = ProcParser.uptime(text)
        }
        if let text = try? FileIO.read("/proc/loadavg", maxBytes: 4096) {
            readings.load = ProcParser.loadAverage(text)
        }
        readings.cpuPercent = cpuPercent(previous: &cpu)
        if let text = try? FileIO.read("/proc/meminfo", maxBytes: 64 * 1024) {
            readings.memory = ProcParser.memory(text)
        }
        readings.disk = disk(diskPath)
        readings.temperatures = thermalZones(root: "/sys/class/thermal")
        return readings
    }

    static func cpuSample() -> CPUSample? {
        guard let text = try? FileIO.read("/proc/stat", maxBytes: 1 << 20) else { return nil }
        return ProcParser.cpuSample(text)
    }

    static func cpuPercent(previous: inout CPUSample?) -> Double? {
        var earlier = previous
        if earlier == nil {
            earlier = cpuSample()
            flotilla_sleep_ms(250)
        }
        guard let later = cpuSample() else { return nil }
        previous = later
        guard let earlier else { return nil }
        return ProcParser.cpuPercent(from: earlier, to: later)
    }

    /// statvfs of `path`: total size and space available to unprivileged users.
    static func disk(_ path: String) -> DiskReading? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let fragment = Int64(info.f_frsize)
        let (total, overflow1) = Int64(info.f_blocks).multipliedReportingOverflow(by: fragment)
        let (free, overflow2) = Int64(info.f_bavail).multipliedReportingOverflow(by: fragment)
        guard !overflow1, !overflow2 else { return nil }
        return DiskReading(totalBytes: total, freeBytes: free)
    }

    /// Every `thermal_zoneN` under `root` whose `temp` parses, sorted by zone number.
    static func thermalZones(root: String) -> [ThermalReading] {
        guard let names = try? FileIO.listDirectory(root) else { return [] }
        // Each zone inserted at its place by number as it is read (a board has a handful): the
        // same order as a sort, and cheaper in the binary.
        var numbers: [Int64] = []
        var result: [ThermalReading] = []
        for name in names {
            let bytes = Array(name.utf8)
            guard SystemText.hasPrefix(bytes[...], "thermal_zone"),
                  let number = NumberText.parseInt64(bytes[12...]) else { continue }
            let directory = root + "/" + name
            guard let temperatureText = try? FileIO.read(directory + "/temp", maxBytes: 256),
                  let celsius = ProcParser.millidegrees(temperatureText) else { continue }
            var type = "unknown"
            if let typeText = try? FileIO.read(directory + "/type", maxBytes: 256) {
                type = SystemText.string(SystemText.trimmed(typeText[...]))
            }
            var index = numbers.count
            while index > 0, numbers[index - 1] > number { index -= 1 }
            numbers.insert(number, at: index)
            result.insert(ThermalReading(zone: name, type: type, celsius: celsius), at: index)
        }
        return result
    }
}

/// Kernel release and machine architecture from uname(2).
struct SystemIdentity {
    /// e.g. `6.6.31-flotilla`; nil when uname fails.
    var release: String?
    /// e.g. `aarch64`, `riscv64`, `x86_64`; nil when uname fails.
    var machine: String?

    /// Reads uname(2).
    static func current() -> SystemIdentity {
        var release = [CChar](repeating: 0, count: 65)
        var machine = [CChar](repeating: 0, count: 65)
        let status = release.withUnsafeMutableBufferPointer { releaseBuffer in
            machine.withUnsafeMutableBufferPointer { machineBuffer in
                flotilla_uname(releaseBuffer.baseAddress, releaseBuffer.count,
                               machineBuffer.baseAddress, machineBuffer.count)
            }
        }
        guard status == 0 else { return SystemIdentity(release: nil, machine: nil) }
        return SystemIdentity(release: SystemText.string(cBuffer: release),
                              machine: SystemText.string(cBuffer: machine))
    }

    /// gethostname(2), used as the default node name.
    static func hostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer { pointer in
            gethostname(pointer.baseAddress!, pointer.count - 1)
        }
        guard status == 0 else { return nil }
        return SystemText.string(cBuffer: buffer)
    }
}
