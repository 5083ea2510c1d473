package fleet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alphad/alphad/internal/atomicfile"
)

// publicKeyPrefix starts a public key in text form ("ed25519:<base64>").
const publicKeyPrefix = "ed25519:"

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// FormatPublicKey is a public key's text form, "ed25519:<base64>" (what
// fleet.trusted_keys lists and FILE.pub holds).
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key's text form (a trailing comment after a
// space is ignored).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	b64, ok := strings.CutPrefix(s, publicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("fleet: public key %q: want %s<base64>", short(s), publicKeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("fleet: public key %q: want %d bytes of base64", short(s), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// GenerateKey writes a new key pair: the private key to path (PKCS #8
// PEM, mode 0600) and the public key's text form to path+".pub". It
// refuses to overwrite an existing private key.
func GenerateKey(path, comment string) (ed25519.PublicKey, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("fleet: keygen: %s exists (remove it first to make a new key)", path)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fleet: keygen: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("fleet: keygen: %w", err)
	}
	if err := atomicfile.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("fleet: keygen: %w", err)
	}
	line := FormatPublicKey(pub)
	if comment = strings.Join(strings.Fields(comment), "_"); comment != "" {
		line += " " + comment
	}
	if err := atomicfile.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("fleet: keygen: %w", err)
	}
	return pub, nil
}

// ParsePrivateKey reads a PKCS #8 PEM ed25519 private key; name only
// names the source in errors.
func ParsePrivateKey(name string, data []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("fleet: signing key %s: not a PEM \"PRIVATE KEY\" (make one with alphad fleet keygen)", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("fleet: signing key %s: %w", name, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("fleet: signing key %s: %T is not an ed25519 key", name, k)
	}
	return priv, nil
}

// ReadPrivateKey reads the private key file path.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fleet: signing key: %w", err)
	}
	return ParsePrivateKey(path, data)
}

// Keyring holds the trusted public keys by key id.
type Keyring map[string]ed25519.PublicKey

// ErrUnknownKey and ErrBadSignature are the two reasons Verify refuses a
// publication.
var (
	ErrUnknownKey   = errors.New("signed by a key that is not in fleet.trusted_keys")
	ErrBadSignature = errors.New("bad signature")
)

// LoadKeyring reads fleet.trusted_keys: each entry is a public key in text
// form ("ed25519:<base64>") or the path of a .pub file holding one per line.
func LoadKeyring(entries []string) (Keyring, error) {
	kr := Keyring{}
	var errs []error
	for i, e := range entries {
		lines := []string{e}
		if !strings.HasPrefix(strings.TrimSpace(e), publicKeyPrefix) {
			data, err := os.ReadFile(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("trusted_keys[%d]: %w", i, err))
				continue
			}
			lines = nil
			for l := range bytes.Lines(data) {
				if t := strings.TrimSpace(string(l)); t != "" && !strings.HasPrefix(t, "#") {
					lines = append(lines, t)
				}
			}
			if len(lines) == 0 {
				errs = append(errs, fmt.Errorf("trusted_keys[%d]: %s holds no key", i, e))
			}
		}
		for _, l := range lines {
			pub, err := ParsePublicKey(l)
			if err != nil {
				errs = append(errs, fmt.Errorf("trusted_keys[%d]: %w", i, err))
				continue
			}
			kr[KeyID(pub)] = pub
		}
	}
	return kr, errors.Join(errs...)
}
