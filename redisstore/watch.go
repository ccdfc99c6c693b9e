package redisstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
)

// watchConfirm is how long WatchRevocations waits for Redis to confirm the
// subscription before it returns; the subscription goes on being set up in
// the background after that.
const watchConfirm = time.Second

// WatchRevocations subscribes to [Store.Channel] and calls fn with the
// identity of each member whose pair any process deleted (this one
// included), until stop is called. It makes *Store a
// [circle.RevocationWatcher]: [circle.NewAuthClient] calls it, and
// [circle.AuthClient.Close] stops it.
//
// It waits up to a second for Redis to confirm the subscription. If Redis
// is unreachable it still returns a working watch, without error: go-redis
// subscribes again whenever it reconnects. Announcements made while the
// subscription is down are not seen (Redis pub/sub keeps no history).
func (s *Store) WatchRevocations(fn func(circle.Identity)) (stop func(), err error) {
	if fn == nil {
		return nil, errors.New("redisstore: WatchRevocations: nil func")
	}
	ps := s.rdb.Subscribe(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), watchConfirm)
	if err := ps.Subscribe(ctx, s.channel); err == nil {
		// The first message on a subscription is its confirmation.
		_, _ = ps.ReceiveTimeout(ctx, watchConfirm)
	}
	cancel()
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(time.Second))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ch {
			if id, err := circle.ParseIdentity(m.Payload); err == nil {
				fn(id)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = ps.Close()
			<-done
		})
	}, nil
}
