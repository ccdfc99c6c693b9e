package redisstore_test

// The README's "Running several replicas" quotes the example of this file;
// TestReadmeSnippets at the root of the module checks that it does.

import (
	"encoding/base64"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/redisstore"
)

// A replica of a website in production: its member token pairs are kept
// in Redis, sealed with a key every replica shares. It needs Redis and
// Circle, so it is compiled but not run.
func Example_production() {
	// 32 secret random bytes, the same in every replica.
	key, err := base64.StdEncoding.DecodeString(os.Getenv("CIRCLE_STORE_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"), circle.WithTokenStore(store))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = auth.Close() }() // ends the watch for revocations

	// Serve the website with auth.TokenSource, as in package circle's
	// examples.
}
