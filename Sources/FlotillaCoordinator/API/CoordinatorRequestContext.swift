import Hummingbird
import Logging
import NIOCore

/// Per-request context: Hummingbird's core storage plus the connection, which node endpoints need
/// to read the TLS client certificate.
public struct CoordinatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.channel = source.channel
    }

    /// The caller's IP address, for logs and per-source limits.
    public var remoteAddress: String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }
}
