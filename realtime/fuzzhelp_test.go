package realtime

import (
	"encoding/json"
	"strconv"
	"strings"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// toValidUTF8 is what encoding/json makes of a string with invalid UTF-8:
// each invalid byte becomes U+FFFD.
func toValidUTF8(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

func jsonInt(v int64) string { return strconv.FormatInt(v, 10) }
