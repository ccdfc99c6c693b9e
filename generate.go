package headless

// The typed clients under gen/ are generated from the project's own specs.
// Run `go generate ./...` (or `make generate`) after editing a spec.

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config openapi/auth/v1/codegen.yaml openapi/auth/v1/openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config openapi/member/v1/codegen.yaml openapi/member/v1/openapi.yaml
//go:generate go run ./internal/cmd/genpages -spec openapi/member/v1/openapi.yaml -out circle/pages.gen.go -test-out circle/pages.gen_test.go
