package redisstore

// Encodings gives the multi-process tests (package redisstore_test) the
// encodings a token must not appear in.
var Encodings = encodings
