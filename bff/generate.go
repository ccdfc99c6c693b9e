package bff

// The route table is generated from the project's Member API spec, so that
// the proxy passes exactly the operations the spec has and a program that
// imports bff links no OpenAPI or YAML library.

//go:generate go run ../internal/cmd/genroutes -spec ../openapi/member/v1/openapi.yaml -out routes.gen.go
