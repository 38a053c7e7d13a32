import CFlotillaCurl

/// HTTPS client on one libcurl easy handle, so consecutive heartbeats reuse the TLS connection
/// (keep-alive). The server certificate is verified against the pinned fleet CA only (never the
/// system trust store) with hostname verification on; a client certificate is presented for
/// mutual TLS when one is configured. Without TLS settings the client speaks plain HTTP only and
/// ignores proxies: that mode exists for the local runtime's loopback API (PicoClaw's gateway).
final class HTTPClient {
    /// How the client authenticates the coordinator and, optionally, itself.
    struct TLS {
        /// The fleet CA as PEM bytes (used before the state directory exists, during enroll).
        var caPEM: [UInt8]?
        /// Path of the fleet CA PEM file (used by `run`).
        var caFile: String?
        /// Client certificate and key files for mutual TLS.
        var clientCertificateFile: String?
        var clientKeyFile: String?

        /// Creates a TLS configuration.
        init(caPEM: [UInt8]? = nil, caFile: String? = nil,
                    clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
            self.caPEM = caPEM
            self.caFile = caFile
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
        }
    }

    /// Status and body of one exchange.
    struct Response {
        var status: Int
        var body: [UInt8]
    }

    private let handle: UnsafeMutableRawPointer
    private let headers: UnsafeMutablePointer<curl_slist>?
    private let buffer: UnsafeMutablePointer<flotilla_curl_buffer>
    private let errorText: UnsafeMutablePointer<CChar>
    private let timeoutSeconds: Int

    /// Creates the handle and applies the TLS settings once (`tls` nil: plain HTTP, no proxy).
    init(tls: TLS?, timeoutSeconds: Int = 30) throws(NodeError) {
        self.timeoutSeconds = timeoutSeconds
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard let handle = curl_easy_init() else { throw .network(curlCode: -1, message: "curl_easy_init failed") }
        self.handle = handle
        var list = curl_slist_append(nil, "Content-Type: application/json")
        list = curl_slist_append(list, "Accept: application/json")
        headers = list
        buffer = .allocate(capacity: 1)
        buffer.initialize(to: flotilla_curl_buffer(data: nil, length: 0, capacity: 0, limit: 1 << 20, overflowed: 0))
        errorText = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorText.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))

        try check(flotilla_curl_set_error_buffer(handle, errorText))
        try check(flotilla_curl_capture_body(handle, buffer))
        try check(flotilla_curl_set_headers(handle, headers))
        try check(flotilla_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, tls == nil ? "http" : "https"))
        try check(flotilla_curl_set_string(handle, CURLOPT_USERAGENT, "flotilla-node/" + AgentInfo.version))
        try check(flotilla_curl_set_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(flotilla_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, 10))
        try check(flotilla_curl_set_long(handle, CURLOPT_TIMEOUT, timeoutSeconds))
        guard let tls else {
            try check(flotilla_curl_set_string(handle, CURLOPT_NOPROXY, "*"))
            return
        }
        try check(flotilla_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        try check(flotilla_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        try check(flotilla_curl_set_string(handle, CURLOPT_CAPATH, nil))
        if let caPEM = tls.caPEM {
            try check(caPEM.withUnsafeBytes { bytes in
                flotilla_curl_set_blob(handle, CURLOPT_CAINFO_BLOB, bytes.baseAddress, bytes.count)
            })
        }
        if let caFile = tls.caFile {
            try check(flotilla_curl_set_string(handle, CURLOPT_CAINFO, caFile))
        }
        if let certificate = tls.clientCertificateFile {
            try check(flotilla_curl_set_string(handle, CURLOPT_SSLCERT, certificate))
        }
        if let key = tls.clientKeyFile {
            try check(flotilla_curl_set_string(handle, CURLOPT_SSLKEY, key))
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
        flotilla_curl_buffer_free(buffer)
        buffer.deallocate()
        errorText.deallocate()
    }

    /// POSTs `body` to `url` and returns the status and body, whatever the status.
    /// `header` is one extra request header line (for example an Authorization header).
    func post(_ url: String, body: [UInt8], header: String? = nil) throws(NodeError) -> Response {
        try perform(url, body: body, header: header, maxBytes: 1 << 20, timeoutSeconds: timeoutSeconds)
    }

    /// GETs `url`, failing with `.responseTooLarge` rather than buffering more than `maxBytes`.
    /// `timeoutSeconds` (default: the client's) bounds the whole exchange, e.g. a long poll.
    func get(_ url: String, maxBytes: Int, timeoutSeconds: Int? = nil, header: String? = nil)
        throws(NodeError) -> Response {
        try perform(url, body: nil, header: header, maxBytes: maxBytes, timeoutSeconds: timeoutSeconds ?? self.timeoutSeconds)
    }

    /// The body when the status is `status`; otherwise `.rejected` with the coordinator's error
    /// code when the body is a protocol error, else `.unexpectedStatus`.
    static func expect(_ status: Int, _ response: Response) throws(NodeError) -> [UInt8] {
        guard response.status == status else {
            if let json = try? JSONParser().parse(response.body), let failure = try? ErrorResponse(json: json) {
                throw .rejected(status: response.status, code: failure.code, message: failure.message)
            }
            throw .unexpectedStatus(response.status)
        }
        return response.body
    }

    private func perform(_ url: String, body: [UInt8]?, header: String?, maxBytes: Int, timeoutSeconds: Int)
        throws(NodeError) -> Response {
        flotilla_curl_buffer_clear(buffer)
        buffer.pointee.limit = maxBytes
        errorText[0] = 0
        var requestHeaders: UnsafeMutablePointer<curl_slist>?
        if let header {
            requestHeaders = curl_slist_append(curl_slist_append(curl_slist_append(nil, "Content-Type: application/json"),
                                                                 "Accept: application/json"), header)
            try check(flotilla_curl_set_headers(handle, requestHeaders))
        }
        defer {
            if requestHeaders != nil {
                _ = flotilla_curl_set_headers(handle, headers)
                curl_slist_free_all(requestHeaders)
            }
        }
        try check(flotilla_curl_set_string(handle, CURLOPT_URL, url))
        try check(flotilla_curl_set_long(handle, CURLOPT_TIMEOUT, timeoutSeconds))
        if let body {
            try check(body.withUnsafeBytes { bytes in
                flotilla_curl_set_post_body(handle, bytes.baseAddress, bytes.count)
            })
        } else {
            try check(flotilla_curl_set_long(handle, CURLOPT_HTTPGET, 1))
        }
        let code = curl_easy_perform(handle)
        if buffer.pointee.overflowed != 0 {
            // An error answer (404, 503) says more than its size: the caller sees the status.
            let status = flotilla_curl_response_code(handle)
            guard (200..<300).contains(status) else { return Response(status: status, body: []) }
            throw .responseTooLarge(limit: maxBytes)
        }
        try check(code)
        let data = buffer.pointee
        var received: [UInt8] = []
        if let start = data.data, data.length > 0 {
            received = Array(UnsafeBufferPointer(start: start, count: data.length))
        }
        return Response(status: flotilla_curl_response_code(handle), body: received)
    }

    /// POSTs a JSON body and decodes the JSON answer when the status is `expected`; a protocol
    /// error body becomes `.rejected` with the coordinator's code and message.
    func postJSON(_ url: String, _ body: JSONValue, expected: Int) throws(NodeError) -> JSONValue {
        try JSONParser().parse(try HTTPClient.expect(expected, try post(url, body: JSONWriter.encode(body))))
    }

    private func check(_ code: CURLcode) throws(NodeError) {
        guard code != CURLE_OK else { return }
        var message = String(cString: errorText)
        if message.utf8.isEmpty { message = String(cString: curl_easy_strerror(code)) }
        throw .network(curlCode: Int32(bitPattern: code.rawValue), message: message)
    }
}
