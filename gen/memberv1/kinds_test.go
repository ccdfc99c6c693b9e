package memberv1_test

import (
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// A page of searchCommunity's answer: a post and a member.
const searchPage = `{"page": 1, "has_next_page": false, "records": [
	{"id": "p1", "type": "post", "attributes": {"id": 7, "name": "Welcome"}},
	{"id": "m1", "type": "community_member", "attributes": {"name": "Ada", "community_member_id": 1}}
]}`

// Each search hit says its kind; ValueByDiscriminator decodes it into the
// Go type of that kind.
func ExampleSearchResult() {
	var page memberv1.SearchResults
	if err := json.Unmarshal([]byte(searchPage), &page); err != nil {
		log.Fatal(err)
	}
	for _, hit := range page.Records {
		v, err := hit.ValueByDiscriminator()
		if err != nil {
			log.Fatal(err)
		}
		switch v := v.(type) {
		case memberv1.SearchedPost:
			fmt.Println("post:", v.Attributes.Name)
		case memberv1.SearchedCommunityMember:
			fmt.Println("member:", v.Attributes.Name)
		}
	}
	// Output:
	// post: Welcome
	// member: Ada
}

func TestSearchResultKinds(t *testing.T) {
	var page memberv1.SearchResults
	if err := json.Unmarshal([]byte(searchPage), &page); err != nil {
		t.Fatal(err)
	}
	post, member := page.Records[0], page.Records[1]
	if k, err := member.Discriminator(); err != nil || k != "community_member" {
		t.Errorf("Discriminator = %q, %v; want community_member", k, err)
	}
	// The right accessor decodes, the wrong one fails.
	if p, err := post.AsSearchedPost(); err != nil || p.Attributes.ID != 7 || p.Type != memberv1.SearchedPostKindPost {
		t.Errorf("AsSearchedPost of a post = %+v, %v", p, err)
	}
	if _, err := member.AsSearchedCommunityMember(); err != nil {
		t.Errorf("AsSearchedCommunityMember of a member: %v", err)
	}
	if p, err := member.AsSearchedPost(); err == nil || !strings.Contains(err.Error(), `a "community_member" search hit is not a SearchedPost`) {
		t.Errorf("AsSearchedPost of a member = %+v, %v; want an error", p, err)
	}
	for name, as := range map[string]func(memberv1.SearchResult) error{
		"AsSearchedCommunityMember": func(r memberv1.SearchResult) error { _, err := r.AsSearchedCommunityMember(); return err },
		"AsSearchedMemberTag":       func(r memberv1.SearchResult) error { _, err := r.AsSearchedMemberTag(); return err },
		"AsSearchedSpace":           func(r memberv1.SearchResult) error { _, err := r.AsSearchedSpace(); return err },
		"AsSearchedSpaceGroup":      func(r memberv1.SearchResult) error { _, err := r.AsSearchedSpaceGroup(); return err },
		"AsSearchedComment":         func(r memberv1.SearchResult) error { _, err := r.AsSearchedComment(); return err },
	} {
		if err := as(post); err == nil {
			t.Errorf("%s of a post: no error", name)
		}
	}
	// An unknown kind is an error, not a guess.
	var odd memberv1.SearchResult
	if err := json.Unmarshal([]byte(`{"type": "lesson"}`), &odd); err != nil {
		t.Fatal(err)
	}
	if v, err := odd.ValueByDiscriminator(); err == nil {
		t.Errorf("ValueByDiscriminator of a lesson = %v, want an error", v)
	}
	// From stamps the kind, so a built result decodes back.
	var built memberv1.SearchResult
	if err := built.FromSearchedSpace(memberv1.SearchedSpace{ID: "s1"}); err != nil {
		t.Fatal(err)
	}
	if v, err := built.ValueByDiscriminator(); err != nil {
		t.Errorf("ValueByDiscriminator of a built space: %v", err)
	} else if s, ok := v.(memberv1.SearchedSpace); !ok || s.ID != "s1" || s.Type != memberv1.SearchedSpaceKindSpace {
		t.Errorf("built space decodes as %#v", v)
	}
}
