package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/circlekit/headless-go/circle"
)

// A record, the value of a pair's key, is one of:
//
//	0x01 | key id (8) | nonce (12) | AES-256-GCM ciphertext of the JSON of the circle.Token, and its tag
//	0x00 | the JSON of the circle.Token  (WithPlaintext only)
//
// The key id is the start of SHA-256(keyIDLabel | key), so that opening
// picks the right key among the current and old ones without trying each.
// The additional data of the seal is aadLabel | the identity's String, so
// a record copied under another member's key does not open.
const (
	formatPlain  = 0x00
	formatSealed = 0x01
	keyIDLen     = 8
	keyIDLabel   = "headless-go/redisstore key id\x00"
	aadLabel     = "headless-go/redisstore v1\x00"
)

type keyID [keyIDLen]byte

// sealer seals with one key and opens with it or any old key.
type sealer struct {
	sealID keyID // zero when the store does not seal
	seal   cipher.AEAD
	open   map[keyID]cipher.AEAD
}

func idOf(key []byte) keyID {
	sum := sha256.Sum256(append([]byte(keyIDLabel), key...))
	var id keyID
	copy(id[:], sum[:keyIDLen])
	return id
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("redisstore: the key is not a valid AES-256 key")
	}
	return cipher.NewGCM(b)
}

func newSealer(key []byte, old [][]byte) (*sealer, error) {
	s := &sealer{open: make(map[keyID]cipher.AEAD)}
	if key != nil {
		a, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		s.sealID, s.seal = idOf(key), a
		s.open[s.sealID] = a
	}
	for _, k := range old {
		a, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		if _, ok := s.open[idOf(k)]; !ok {
			s.open[idOf(k)] = a
		}
	}
	return s, nil
}

func aad(id circle.Identity) []byte { return []byte(aadLabel + id.String()) }

// encode returns the record of tok for id: sealed when the store has a key,
// plain JSON otherwise.
func (s *sealer) encode(id circle.Identity, tok circle.Token) ([]byte, error) {
	js, err := json.Marshal(tok)
	if err != nil {
		return nil, errors.New("redisstore: encoding the pair failed")
	}
	if s.seal == nil {
		return append([]byte{formatPlain}, js...), nil
	}
	out := make([]byte, 1+keyIDLen+12, 1+keyIDLen+12+len(js)+s.seal.Overhead())
	out[0] = formatSealed
	copy(out[1:], s.sealID[:])
	nonce := out[1+keyIDLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, errors.New("redisstore: no random nonce available")
	}
	out = s.seal.Seal(out, nonce, js, aad(id))
	clear(js) // keep no plain copy around longer than needed
	return out, nil
}

// decode opens a record of id. Its errors never carry the record's bytes.
func (s *sealer) decode(id circle.Identity, rec []byte) (circle.Token, error) {
	var js []byte
	switch {
	case len(rec) == 0:
		return circle.Token{}, errors.New("empty record")
	case rec[0] == formatPlain:
		if s.seal != nil {
			return circle.Token{}, errors.New("the record is not encrypted, and this store reads only encrypted records (see WithPlaintext)")
		}
		js = rec[1:]
	case rec[0] == formatSealed:
		if len(rec) < 1+keyIDLen+12 {
			return circle.Token{}, errors.New("the sealed record is cut short")
		}
		var kid keyID
		copy(kid[:], rec[1:1+keyIDLen])
		a, ok := s.open[kid]
		if !ok {
			return circle.Token{}, errors.New("the record is sealed with a key this store was not given (see WithDecryptionKeys)")
		}
		nonce := rec[1+keyIDLen : 1+keyIDLen+12]
		var err error
		js, err = a.Open(nil, nonce, rec[1+keyIDLen+12:], aad(id))
		if err != nil {
			return circle.Token{}, errors.New("the sealed record does not open: it was altered, or it belongs to another member")
		}
		defer clear(js)
	default:
		return circle.Token{}, fmt.Errorf("unknown record format %#x", rec[0])
	}
	var tok circle.Token
	if err := json.Unmarshal(js, &tok); err != nil {
		return circle.Token{}, errors.New("the record is not the JSON of a token pair")
	}
	return tok, nil
}
