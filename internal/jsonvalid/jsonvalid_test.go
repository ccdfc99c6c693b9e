package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"
)

var validJSONCases = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `truex`, `true1`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `+1`,
	`1e`, `1e+`, `1e+5`, `1E-05`, `-12.5e3`, `1e5.0`, `"`, `""`, `"a"`, `"\"`, `"\u00e9"`, `"\u00g9"`, `"\u12"`,
	`"\x"`, `"\/\b\f\n\r\t\\\""`, "\"\x01\"", "\"\x7f\xff\xfe\"", "\"tab\there\"", `{}`, `[]`, `{ }`, `[ ]`,
	`{"a":1}`, `{"a" : 1 , "b":[1,2,{"c":null}]}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`,
	`{1:2}`, `[1 2]`, `{"a":1 "b":2}`, `[}`, `{]`, `[[[]]]`, `[[[]]`, `[]]`, `{}{}`, `{} x`, "\t\n\r {} \n",
	"\xef\xbb\xbf{}", "{\"a\":1}\x00", `{"id":1,"name":"Ada Lov`, `<html></html>`, `[-]`, `[-a]`, `[0x1]`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	strings.Repeat(`[{"a":`, 5000) + "1" + strings.Repeat("}]", 5000),
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range validJSONCases {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%.60q) = %t, json.Valid says %t", s, got, want)
		}
	}
}

// FuzzValidJSON checks Valid against json.Valid on any input.
func FuzzValidJSON(f *testing.F) {
	for _, s := range validJSONCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %t, json.Valid says %t", b, got, want)
		}
	})
}

func TestValidJSONDoesNotAllocate(t *testing.T) {
	b := benchPage()
	if n := testing.AllocsPerRun(100, func() { Valid(b) }); n != 0 {
		t.Errorf("Valid allocates %v times", n)
	}
}

// benchPage is the page of ten bookmarks of circle's BenchmarkMemberCall.
func benchPage() []byte {
	recs := make([]map[string]any, 10)
	for i := range recs {
		recs[i] = map[string]any{"id": i + 1, "record_id": 100 + i, "bookmarkable_type": "Post",
			"created_at": "2026-01-02T03:04:05Z", "community_id": 7, "community_member_id": 1}
	}
	page, _ := json.Marshal(map[string]any{"page": 1, "per_page": 10, "has_next_page": false, "count": 10, "page_count": 1, "records": recs})
	return page
}

// BenchmarkValidJSON compares Valid with json.Valid on the page of
// circle's BenchmarkMemberCall.
func BenchmarkValidJSON(b *testing.B) {
	page := benchPage()
	for _, impl := range []struct {
		name  string
		valid func([]byte) bool
	}{{"baseline", json.Valid}, {"circle", Valid}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if !impl.valid(page) {
					b.Fatal("not valid")
				}
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, " APPLICATION/JSON ;x=y": true,
		"text/json": true, "application/problem+json": true, "application/vnd.api+JSON": true,
		"": false, "text/html": false, "text/plain": false, "application/jsonp": false, "+json": false,
		"application/+json": false, "/x+json": false, "application/json-seq": false, "application": false,
	} {
		if got := MediaType(ct); got != want {
			t.Errorf("MediaType(%q) = %t, want %t", ct, got, want)
		}
	}
}
