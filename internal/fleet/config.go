package fleet

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the daemon's fleet: section. Fleet is off while Group is "".
type Config struct {
	// Group names the fleet: topics alphad/fleet/<group>/….
	Group string `yaml:"group"`
	// Adopt installs verified publications of the group's model.
	Adopt bool `yaml:"adopt"`
	// SigningKey is the private key file publications are signed with
	// (alphad fleet keygen); "" = this device cannot publish.
	SigningKey string `yaml:"signing_key"`
	// TrustedKeys are the public keys ("ed25519:<base64>" or a .pub file)
	// whose publications are adopted.
	TrustedKeys []string `yaml:"trusted_keys"`
	// ShareSamples publishes every recorded sample (image, class, device
	// id) to the group's samples topic. Off by default: see docs/fleet.md.
	ShareSamples bool `yaml:"share_samples"`
	// Trainer stores the group's shared samples, trains on them every
	// TrainEvery (when new ones came; 0 = only on the train command) and
	// publishes every version it trains.
	Trainer    bool          `yaml:"trainer"`
	TrainEvery time.Duration `yaml:"train_every"`
}

// Enabled reports whether the device is in a fleet group.
func (c Config) Enabled() bool { return c.Group != "" }

// TopicRoot is the root of every fleet topic.
const TopicRoot = "alphad/fleet"

// Topics of a group.
func ModelTopic(group string) string   { return TopicRoot + "/" + group + "/model" }
func SamplesTopic(group string) string { return TopicRoot + "/" + group + "/samples" }
func MembersTopic(group, device string) string {
	return TopicRoot + "/" + group + "/members/" + device
}

// Validate lists every bad field ("field: message" joined); it does not
// read key files (New does).
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Group == "" {
		if c.Adopt || c.ShareSamples || c.Trainer {
			add("group", "required by adopt, share_samples and trainer")
		}
		return errors.Join(errs...)
	}
	if !ValidGroup(c.Group) {
		add("group", "%q is not 1-64 letters, digits, '_' or '-'", c.Group)
	}
	if c.Adopt && len(c.TrustedKeys) == 0 {
		add("trusted_keys", "adopt: true needs at least one trusted key (no key = no adopting)")
	}
	if c.Trainer && c.SigningKey == "" {
		add("signing_key", "trainer: true publishes what it trains: it needs a signing key")
	}
	for i, k := range c.TrustedKeys {
		if strings.TrimSpace(k) == "" {
			add(fmt.Sprintf("trusted_keys[%d]", i), "empty")
		}
	}
	if c.TrainEvery < 0 || (c.TrainEvery > 0 && c.TrainEvery < time.Minute) {
		add("train_every", "%v: want 0 (on command) or at least 1m", c.TrainEvery)
	}
	if c.TrainEvery > 0 && !c.Trainer {
		add("train_every", "only with trainer: true")
	}
	return errors.Join(errs...)
}
