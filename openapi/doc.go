// Package openapi holds the project's own OpenAPI specs of Circle's Headless
// APIs (auth/v1 and member/v1) and gives them to the code that needs them at
// run time: the fake Circle of package circletest, the contract and
// conformance tests, the project's tools. The YAML files are embedded in
// this package, not in the generated clients, so that a program importing
// package circle links no OpenAPI or YAML library.
//
// Beside the specs, the directory holds the oapi-codegen configuration of
// each generated package, the errata against Circle's published documents
// (errata.yaml) and the upstream lock file (upstream.lock).
package openapi
