// Package headless is the root of headless-go, a Go SDK for Circle's Headless
// APIs. It holds no code of its own: the typed clients live in gen/authv1 and
// gen/memberv1, the hand-written layer in package circle, and the fake Circle
// for tests in package circletest. The go:generate lines in generate.go rebuild
// gen/ from the specs under openapi/.
package headless
