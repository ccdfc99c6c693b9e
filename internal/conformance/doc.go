// Package conformance checks the project's OpenAPI specs against Circle's
// published documents.
//
// For each API it loads our spec (openapi/<api>/v1/openapi.yaml) and Circle's
// document (from CIRCLE_UPSTREAM_DIR, else openapi/upstream/), gives both the
// same normalization (Normalize: component names made comparable, allOf of
// plain objects merged), diffs them with oasdiff while ignoring prose,
// examples, tags, extensions, operationIds and the components section, and
// flattens the result into leaves, one per change (Differences). It then
// serves every 2xx response example of Circle's document from a loopback
// server to our generated client, checking that it decodes into the typed
// field and validates against our spec (CheckExamples).
//
// Every leaf, and every example that fails, must be matched by an entry of
// openapi/errata.yaml, which records why we differ; every pattern of every
// entry must match something, so the errata cannot go stale (Run, Report).
// The file's header documents its schema; Kinds lists the kinds.
//
// TestConformance runs the check under go test; internal/cmd/conformance
// prints the report; internal/cmd/specsync follows Circle's documents with
// openapi/upstream.lock.
package conformance
