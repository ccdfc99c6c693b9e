package conformance

import (
	"github.com/circlekit/headless-go/gen/authv1"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// API is one of Circle's Headless APIs as the conformance check sees it:
// our spec, Circle's document and our generated client.
type API struct {
	// Name is the short name used in the errata and the lock: "auth" or "member".
	Name string
	// Spec is the path of our spec, relative to the repository root.
	Spec string
	// UpstreamFile is the file name of Circle's document in an upstream folder.
	UpstreamFile string
	// NewClient returns the generated *ClientWithResponses for a server URL.
	NewClient func(server string) (any, error)
}

// APIs returns the APIs the conformance check covers.
func APIs() []API {
	return []API{
		{
			Name:         "auth",
			Spec:         "openapi/auth/v1/openapi.yaml",
			UpstreamFile: "headless-auth-v1.yaml",
			NewClient: func(server string) (any, error) {
				return authv1.NewClientWithResponses(server)
			},
		},
		{
			Name:         "member",
			Spec:         "openapi/member/v1/openapi.yaml",
			UpstreamFile: "headless-member-v1.yaml",
			NewClient: func(server string) (any, error) {
				return memberv1.NewClientWithResponses(server)
			},
		},
	}
}
