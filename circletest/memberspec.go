package circletest

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// memberSwagger returns the member spec embedded in package memberv1.
func memberSwagger() (*openapi3.T, error) { return memberv1.GetSwagger() }
