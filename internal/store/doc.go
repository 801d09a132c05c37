// Package store holds Django's statements: every read and write the scoring domain and the
// route families make in Django's tables, batched (pgx pipelines) so that a request costs few
// round trips. It implements the domain's ports (internal/scoring's Loader with Reader, and
// its Sink with CommitSink, which commits a WriteSet in one transaction, and CaptureSink,
// which only records it), and owns the READ ONLY snapshot shadow runs read through, the
// commit-outcome resolution and the round-trip counter. The arrows run routes → domain ←
// store: this package imports internal/scoring, never the reverse.
package store
