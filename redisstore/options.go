package redisstore

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// DefaultPrefix is the prefix of every key and channel name of a
	// [Store] made without [WithPrefix].
	DefaultPrefix = "circle:"
	// DefaultLockLease is how long a member's lock outlives a holder that
	// died, for a [Store] made without [WithLockLease]. A living holder
	// renews it every third of the lease.
	DefaultLockLease = 5 * time.Second
	// DefaultTTL is how long a pair is kept when its refresh token's
	// expiry is unknown. Circle's refresh tokens live 30 days.
	DefaultTTL = 30 * 24 * time.Hour
	// minLockLease is the shortest lease WithLockLease accepts.
	minLockLease = 100 * time.Millisecond
	// KeySize is the size in bytes of the keys of [WithEncryptionKey] and
	// [WithDecryptionKeys] (AES-256).
	KeySize = 32
)

// An Option configures [New].
type Option func(*config) error

type config struct {
	prefix    string
	key       []byte   // seals, and opens; nil with WithPlaintext
	old       [][]byte // open only
	plaintext bool
	lease     time.Duration
}

// WithPrefix sets the prefix of the store's keys and of its revocation
// channel (default [DefaultPrefix]). Stores with different prefixes on one
// Redis never see each other's pairs, locks or revocations. The prefix
// must not be empty nor contain '{' or '}': the store puts each member's
// identity in braces, as the member's Redis Cluster hash tag.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		if prefix == "" {
			return errors.New("redisstore: WithPrefix: empty prefix")
		}
		if strings.ContainsAny(prefix, "{}") {
			return fmt.Errorf("redisstore: WithPrefix: %q contains '{' or '}', which the store keeps for each member's hash tag", prefix)
		}
		c.prefix = prefix
		return nil
	}
}

// WithEncryptionKey seals every pair the store saves with AES-256-GCM
// under key, which must be [KeySize] (32) random bytes, kept secret as
// you would keep the app token. The store keeps a copy of key.
//
// To rotate keys, give the new key here and the old ones to
// [WithDecryptionKeys]: pairs sealed with an old key still open, and each
// is sealed again with the new key at its next refresh (within the access
// token's lifetime, an hour on Circle). Once every replica runs with the
// new key and that long has passed, drop the old key.
func WithEncryptionKey(key []byte) Option {
	return func(c *config) error {
		if len(key) != KeySize {
			return fmt.Errorf("redisstore: WithEncryptionKey: the key is %d bytes long; it must be %d random bytes", len(key), KeySize)
		}
		c.key = append([]byte(nil), key...)
		return nil
	}
}

// WithDecryptionKeys gives the store older keys that open pairs sealed
// before a key rotation but never seal new ones; see [WithEncryptionKey].
// Each key must be [KeySize] (32) bytes. A store made with
// [WithPlaintext] and old keys opens the pairs sealed with them, to move
// back to unencrypted pairs.
func WithDecryptionKeys(old ...[]byte) Option {
	return func(c *config) error {
		if len(old) == 0 {
			return errors.New("redisstore: WithDecryptionKeys: no key given")
		}
		for i, k := range old {
			if len(k) != KeySize {
				return fmt.Errorf("redisstore: WithDecryptionKeys: key %d is %d bytes long; it must be %d bytes", i+1, len(k), KeySize)
			}
			c.old = append(c.old, append([]byte(nil), k...))
		}
		return nil
	}
}

// WithPlaintext stores pairs unencrypted, as JSON. Anyone who can read
// the Redis database can then act as each member whose pair it holds, so
// [New] requires this option, or [WithEncryptionKey], to be given
// explicitly. A store made with WithPlaintext cannot open a sealed pair
// unless given its key with [WithDecryptionKeys], and a store with an
// encryption key never reads an unencrypted pair (it treats it as
// unreadable, and the source replaces it).
func WithPlaintext() Option {
	return func(c *config) error {
		c.plaintext = true
		return nil
	}
}

// WithLockLease sets how long a member's lock lasts without renewal
// (default [DefaultLockLease]), which is how long a process that died
// holding it blocks the others at most. A living holder renews the lease
// every third of it, however long Circle takes to answer. The lease must
// be at least 100 ms.
func WithLockLease(d time.Duration) Option {
	return func(c *config) error {
		if d < minLockLease {
			return fmt.Errorf("redisstore: WithLockLease: %v is shorter than the minimum, %v", d, minLockLease)
		}
		c.lease = d.Truncate(time.Millisecond)
		return nil
	}
}
