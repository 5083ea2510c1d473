package v4l2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DeviceInfo describes one capture device for listing.
type DeviceInfo struct {
	Info
	Formats []FormatDesc
	// Err is set when the node exists but could not be opened or queried
	// (busy, permission denied).
	Err error
}

// List describes every video capture node under root (normally /dev),
// in numeric order. Nodes that cannot capture video (UVC metadata nodes,
// encoders) are left out.
func List(k Kernel, root string) ([]DeviceInfo, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("v4l2: list %s: %w", root, err)
	}
	var nodes []string
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), "video"); ok {
			if _, err := strconv.Atoi(n); err == nil {
				nodes = append(nodes, e.Name())
			}
		}
	}
	sort.Slice(nodes, func(i, j int) bool {
		a, _ := strconv.Atoi(nodes[i][len("video"):])
		b, _ := strconv.Atoi(nodes[j][len("video"):])
		return a < b
	})
	var out []DeviceInfo
	for _, n := range nodes {
		path := filepath.Join(root, n)
		dev, err := k.Open(path)
		if errors.Is(err, ErrNotCapture) {
			continue
		}
		if err != nil {
			out = append(out, DeviceInfo{Info: Info{Path: path}, Err: openError(path, err)})
			continue
		}
		di := DeviceInfo{Info: dev.Info()}
		di.Formats, di.Err = dev.Formats()
		dev.Close()
		out = append(out, di)
	}
	return out, nil
}
