import Testing

/// Every end-to-end suite, one after another: they start real coordinators, agents and load
/// generators, and the harness waits for processes synchronously. Run side by side on a
/// two-core machine, one suite's load generator starves another's timing (a handshake deadline
/// passing while a test sleeps); in sequence each runs as on an idle machine, beside the unit
/// tests.
@Suite(.serialized) enum EndToEnd {}
