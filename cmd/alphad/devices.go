package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/device"
	"github.com/alphad/alphad/device/v4l2"
)

// newDevicesCmd lists the cameras alphad can use: every V4L2 capture node
// with its formats, sizes and rates, and whether rpicam-vid is installed
// for CSI cameras.
func newDevicesCmd(d *deps) *cobra.Command {
	var root string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "devices [--root /dev]",
		Short: "List cameras: V4L2 devices with their formats, sizes and frame rates, and libcamera",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if asJSON {
				out, err := devicesJSON(v4l2.System(), root, exec.LookPath)
				if err != nil {
					return fmt.Errorf("devices: %w", err)
				}
				return printJSON(d.stdout, out)
			}
			if err := listDevices(d.stdout, v4l2.System(), root); err != nil {
				return fmt.Errorf("devices: %w", err)
			}
			listLibcamera(d.stdout, exec.LookPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "/dev", "directory holding the video device nodes")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"v4l2": [{path, driver, card, bus, error, formats, use}], "libcamera": path or null}`)
	return cmd
}

type devicesOut struct {
	V4L2      []deviceJSON `json:"v4l2"`
	Libcamera *string      `json:"libcamera"` // rpicam-vid's path; null when not installed
}

type deviceJSON struct {
	Path    string       `json:"path"`
	Driver  string       `json:"driver"`
	Card    string       `json:"card"`
	Bus     string       `json:"bus"`
	Error   *string      `json:"error"`
	Formats []formatJSON `json:"formats"`
	Use     *string      `json:"use"` // the --camera spec to use; null when no format is usable
}

type formatJSON struct {
	FourCC      string     `json:"fourcc"`
	Description string     `json:"description"`
	Compressed  bool       `json:"compressed"`
	Emulated    bool       `json:"emulated"`
	Usable      bool       `json:"usable"`
	Sizes       []sizeJSON `json:"sizes"`
}

type sizeJSON struct {
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	MaxWidth  int       `json:"max_width,omitempty"` // stepwise sizes
	MaxHeight int       `json:"max_height,omitempty"`
	FPS       []float64 `json:"fps"`
	FPSRange  bool      `json:"fps_range"`
}

// devicesJSON is `alphad devices --json`.
func devicesJSON(k v4l2.Kernel, root string, look func(string) (string, error)) (devicesOut, error) {
	list, err := v4l2.List(k, root)
	if err != nil {
		return devicesOut{}, err
	}
	out := devicesOut{V4L2: []deviceJSON{}}
	for _, dev := range list {
		j := deviceJSON{Path: dev.Path, Driver: dev.Driver, Card: dev.Card, Bus: dev.Bus, Formats: []formatJSON{}}
		if dev.Err != nil {
			e := dev.Err.Error()
			j.Error = &e
		}
		var usable *v4l2.FormatDesc
		for i, f := range dev.Formats {
			fj := formatJSON{FourCC: f.FourCC, Description: f.Description, Compressed: f.Compressed, Emulated: f.Emulated,
				Usable: (v4l2.Format{FourCC: f.FourCC}).Pixel() != "", Sizes: []sizeJSON{}}
			if fj.Usable && (usable == nil || preferred(f.FourCC, usable.FourCC)) {
				usable = &dev.Formats[i]
			}
			for _, s := range f.Sizes {
				fj.Sizes = append(fj.Sizes, sizeJSON{Width: s.Width, Height: s.Height, MaxWidth: s.MaxWidth, MaxHeight: s.MaxHeight,
					FPS: nonNil(s.FPS), FPSRange: s.FPSRange})
			}
			j.Formats = append(j.Formats, fj)
		}
		if usable != nil {
			sp := device.Spec{Kind: device.SourceV4L2, Path: dev.Path, Format: (v4l2.Format{FourCC: usable.FourCC}).Pixel()}
			sp.Width, sp.Height = pickSize(usable.Sizes)
			use := sp.String()
			j.Use = &use
		}
		out.V4L2 = append(out.V4L2, j)
	}
	for _, b := range []string{"rpicam-vid", "libcamera-vid"} {
		if p, err := look(b); err == nil {
			out.Libcamera = &p
			break
		}
	}
	return out, nil
}

// listDevices prints every V4L2 capture device under root.
func listDevices(w io.Writer, k v4l2.Kernel, root string) error {
	list, err := v4l2.List(k, root)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(w, "no V4L2 capture devices under %s\n", root)
	}
	for _, dev := range list {
		if dev.Err != nil {
			fmt.Fprintf(w, "%s: %v\n", dev.Path, dev.Err)
			continue
		}
		fmt.Fprintf(w, "%s  %s %q  %s\n", dev.Path, dev.Driver, dev.Card, dev.Bus)
		var usable *v4l2.FormatDesc
		for i, f := range dev.Formats {
			note := ""
			if f.Compressed {
				note += " (compressed)"
			}
			if f.Emulated {
				note += " (emulated)"
			}
			if p := (v4l2.Format{FourCC: f.FourCC}).Pixel(); p == "" {
				note += " (not usable by alphad)"
			} else if usable == nil || preferred(f.FourCC, usable.FourCC) {
				usable = &dev.Formats[i]
			}
			fmt.Fprintf(w, "  %-4s  %s%s\n", f.FourCC, f.Description, note)
			for _, s := range f.Sizes {
				fmt.Fprintf(w, "        %s\n", sizeString(s))
			}
		}
		if usable != nil {
			sp := device.Spec{Kind: device.SourceV4L2, Path: dev.Path, Format: (v4l2.Format{FourCC: usable.FourCC}).Pixel()}
			sp.Width, sp.Height = pickSize(usable.Sizes)
			fmt.Fprintf(w, "  use: --camera '%s'\n", sp)
		}
	}
	return nil
}

// preferred reports whether FourCC a is a better default than b (raw
// formats first: they need no JPEG decoding).
func preferred(a, b string) bool {
	rank := func(s string) int { return strings.Index("YUYV RGB3 MJPG JPEG", s) }
	return rank(a) < rank(b)
}

// pickSize suggests 640×480 when offered, else the first size.
func pickSize(sizes []v4l2.FrameSize) (int, int) {
	for _, s := range sizes {
		if s.Width == 640 && s.Height == 480 || s.Stepwise && s.Width <= 640 && s.MaxWidth >= 640 && s.Height <= 480 && s.MaxHeight >= 480 {
			return 640, 480
		}
	}
	if len(sizes) > 0 {
		return sizes[0].Width, sizes[0].Height
	}
	return 0, 0
}

func sizeString(s v4l2.FrameSize) string {
	out := fmt.Sprintf("%dx%d", s.Width, s.Height)
	if s.Stepwise {
		out = fmt.Sprintf("%dx%d to %dx%d step %d/%d", s.Width, s.Height, s.MaxWidth, s.MaxHeight, s.StepWidth, s.StepHeight)
	}
	if len(s.FPS) == 0 {
		return out
	}
	var rates []string
	for _, f := range s.FPS {
		rates = append(rates, fmt.Sprintf("%.4g", f))
	}
	sep := ", "
	if s.FPSRange {
		sep = " to "
	}
	return out + " @ " + strings.Join(rates, sep) + " fps"
}

// listLibcamera says whether a libcamera capture program is installed.
func listLibcamera(w io.Writer, look func(string) (string, error)) {
	for _, b := range []string{"rpicam-vid", "libcamera-vid"} {
		if p, err := look(b); err == nil {
			fmt.Fprintf(w, "libcamera: %s (CSI cameras; `rpicam-hello --list-cameras` lists them)\n  use: --camera 'libcamera:?width=640&height=480'\n", p)
			return
		}
	}
	fmt.Fprintln(w, "libcamera: rpicam-vid not installed (CSI cameras need it: sudo apt install rpicam-apps)")
}
