// Package openapi holds the project's own OpenAPI specs of Circle's Headless
// APIs (auth/v1 and member/v1), the oapi-codegen configuration for each, the
// errata against Circle's published documents and the upstream lock file.
// It has no code of its own; its tests check that the specs load, validate
// and name their operations by the project's scheme.
package openapi
