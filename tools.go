//go:build tools

// Package tools pins the code generator used by go generate, so that every
// contributor and CI build the clients under gen/ with the same version.
package tools

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
