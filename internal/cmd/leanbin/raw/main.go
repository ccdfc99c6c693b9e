// Command raw is internal/cmd/leanbin/sdk written without headless-go, on
// net/http and encoding/json alone: it mints a member token with the Auth
// API and lists the member's bookmarks with the Member API. It is the
// baseline internal/cmd/leanbin measures the SDK program against.
//
// It reads CIRCLE_BASE_URL, CIRCLE_APP_TOKEN and CIRCLE_MEMBER_EMAIL, and
// prints one line: the number of bookmarks on the first page.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "raw:", err)
		os.Exit(1)
	}
}

// memberToken is the Auth API's answer to a mint.
type memberToken struct {
	AccessToken           string    `json:"access_token"`
	AccessTokenExpiresAt  time.Time `json:"access_token_expires_at"`
	RefreshToken          string    `json:"refresh_token"`
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at"`
	CommunityID           int64     `json:"community_id"`
	CommunityMemberID     int64     `json:"community_member_id"`
}

// bookmarks is one page of the member's bookmarks.
type bookmarks struct {
	Page        int  `json:"page"`
	HasNextPage bool `json:"has_next_page"`
	Records     []struct {
		ID               int64     `json:"id"`
		BookmarkableType string    `json:"bookmarkable_type"`
		RecordID         int64     `json:"record_id"`
		CreatedAt        time.Time `json:"created_at"`
	} `json:"records"`
}

func run() error {
	baseURL, appToken, email := os.Getenv("CIRCLE_BASE_URL"), os.Getenv("CIRCLE_APP_TOKEN"), os.Getenv("CIRCLE_MEMBER_EMAIL")
	if baseURL == "" || appToken == "" || email == "" {
		return errors.New("set CIRCLE_BASE_URL, CIRCLE_APP_TOKEN and CIRCLE_MEMBER_EMAIL")
	}
	baseURL = strings.TrimSuffix(baseURL, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	body, err := json.Marshal(map[string]string{"email": email})
	if err != nil {
		return err
	}
	var tok memberToken
	if err := call(ctx, http.MethodPost, baseURL+"/api/v1/headless/auth_token", appToken, body, &tok); err != nil {
		return fmt.Errorf("mint: %w", err)
	}
	var page bookmarks
	if err := call(ctx, http.MethodGet, baseURL+"/api/headless/v1/bookmarks", tok.AccessToken, nil, &page); err != nil {
		return fmt.Errorf("bookmarks: %w", err)
	}
	fmt.Printf("bookmarks: %d\n", len(page.Records))
	return nil
}

// call sends one request with a bearer token and decodes a 2xx JSON answer
// into out.
func call(ctx context.Context, method, url, token string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return json.Unmarshal(data, out)
}
