package store

import "time"

// Origin records where an adopted version came from: a fleet publication
// (see internal/fleet). Locally trained or imported versions have none.
type Origin struct {
	Publisher string    `json:"publisher"`  // the publishing device's id
	Group     string    `json:"group"`      // its fleet group
	KeyID     string    `json:"key_id"`     // the signing key's id
	Version   string    `json:"version"`    // the version's name on the publisher
	Created   time.Time `json:"created"`    // when the publisher made it
	Published time.Time `json:"published"`  // when it was published
	Adopted   time.Time `json:"adopted_at"` // when this device installed it
}
