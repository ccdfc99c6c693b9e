package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/redisstore"
)

// Two replicas of a website share one Redis: the member's pair is minted
// once, by whichever asks first, and the other adopts it.
func Example() {
	ctx := context.Background()
	fake, err := circletest.NewServer() // stands for Circle here
	if err != nil {
		log.Fatal(err)
	}
	defer fake.Close()
	ada := fake.AddMember(circletest.Member{Email: "ada@example.com"})

	// In production the key comes from your secret store, the same in
	// every replica.
	key := make([]byte, redisstore.KeySize)
	_, _ = rand.Read(key)

	replica := func() *circle.AuthClient {
		rdb := redis.NewClient(&redis.Options{Addr: exampleRedis.Addr(), ContextTimeoutEnabled: true})
		store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key))
		if err != nil {
			log.Fatal(err)
		}
		auth, err := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()),
			circle.WithTokenStore(store))
		if err != nil {
			log.Fatal(err)
		}
		return auth
	}
	one, two := replica(), replica()
	defer func() { _ = one.Close() }() // stops the watch for revocations
	defer func() { _ = two.Close() }()

	id := circle.ByEmail(ada.Email)
	t1, err := one.TokenSource(id).Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	t2, err := two.TokenSource(id).Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	mints := 0
	for _, r := range fake.Requests() {
		if r.OperationID == "createMemberToken" {
			mints++
		}
	}
	fmt.Println("same access token in both replicas:", t1.AccessToken == t2.AccessToken)
	fmt.Println("mints:", mints)
	// Output:
	// same access token in both replicas: true
	// mints: 1
}
