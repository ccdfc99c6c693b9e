package circletest

// notModelled names the write operations of the Member spec whose effect
// the fake does not keep, with the reason. They are answered as before,
// with a body synthesised from the spec. The table test over the spec's
// write operations fails for a write that is neither modelled nor listed
// here. The README names them too.
var notModelled = map[string]string{
	"createCookies": "it sets Circle's session cookies for Circle's own web pages; no Member API read shows them",
	"deleteCookies": "it clears Circle's session cookies; no Member API read shows them",
}
