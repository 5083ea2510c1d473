package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/internal/control"
	"github.com/alphad/alphad/internal/stillimage"
	"github.com/alphad/alphad/pipeline/store"
)

// sampleSize is the side of the square crop the store keeps: the input
// size of every MobileNet backbone alphad trains on.
const sampleSize = 224

func newDatasetCmd(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Manage the labelled samples used for on-device training",
	}
	cmd.AddCommand(newDatasetAddCmd(d), newDatasetImportCmd(d), newDatasetLsCmd(d), newDatasetRmCmd(d), newDatasetRenameCmd(d), newDatasetMvCmd(d))
	cmd.AddCommand(newDatasetCheckCmd(d))
	return cmd
}

// loadSample reads and decodes one image file (JPEG, PNG or BMP, within
// the limits of package stillimage) into a sample. With keepOriginal the
// file is read once and its bytes are both decoded and kept.
func loadSample(path, label string, size int, keepOriginal bool, lim stillimage.Limits) (store.NewSample, error) {
	lim = lim.WithDefaults()
	var img image.Image
	var data []byte
	var err error
	if keepOriginal {
		if data, err = readOriginal(path, lim.MaxBytes); err != nil {
			return store.NewSample{}, err
		}
		if img, err = stillimage.DecodeFit(bytes.NewReader(data), lim, size); err != nil {
			return store.NewSample{}, fmt.Errorf("%s: %w", path, err)
		}
	} else if img, err = stillimage.ReadFileFit(path, lim, size); err != nil {
		return store.NewSample{}, err
	}
	ns := store.NewSample{Label: label, Image: store.CenterCrop(img, size), Source: "file:" + path, Time: time.Now()}
	if keepOriginal {
		ns.Original, ns.OriginalExt = data, strings.ToLower(filepath.Ext(path))
	}
	return ns, nil
}

// readOriginal reads the file at path, refusing one over max bytes with a
// *stillimage.LimitError before reading it.
func readOriginal(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %w", path, &stillimage.LimitError{Kind: stillimage.LimitBytes, Bytes: fi.Size(), Max: max})
	}
	// One allocation of the file's size (io.ReadAll would double its way
	// there, leaving garbage the size of the file). Bytes appended since
	// Stat are not read: what is decoded is what is kept.
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data[:n], nil
}

// addCounts are what one Add did: new samples, images already stored in
// the class asked for, and images stored in another class (not moved).
type addCounts struct{ added, present, elsewhere int }

func (a *addCounts) plus(b addCounts) {
	a.added += b.added
	a.present += b.present
	a.elsewhere += b.elsewhere
}

// summary is "6 new, 2 already present" (+ ", 1 in another class").
func (a addCounts) summary() string {
	s := fmt.Sprintf("%d new, %d already present", a.added, a.present)
	if a.elsewhere > 0 {
		s += fmt.Sprintf(", %d already in another class (left there)", a.elsewhere)
	}
	return s
}

// errElsewhere is the exit-1 error when images were already in another
// class: the rest was added, those were not moved.
func (a addCounts) errElsewhere(op string) error {
	if a.elsewhere == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d image(s) already in another class were not added (see the lines above; move them with alphad dataset mv ID... CLASS)", op, a.elsewhere)
}

// printAdded prints a line per sample (added ID LABEL burst N, or exists
// ID LABEL burst N) and, on stderr, one per image already in another
// class. asked are the samples passed to Add, in its order.
func printAdded(d *deps, burst int64, asked []store.NewSample, added []store.Sample) addCounts {
	var c addCounts
	for i, s := range added {
		switch {
		case s.Burst == burst:
			c.added++
			fmt.Fprintf(d.stdout, "added %s %s burst %d\n", s.ID, s.Label, s.Burst)
		case i < len(asked) && asked[i].Label != s.Label:
			c.elsewhere++
			fmt.Fprintf(d.stderr, "%s: already stored in class %s as %s, not added to %s (move it: alphad dataset mv %s %s)\n",
				sourceName(asked[i]), s.Label, s.ID, asked[i].Label, s.ID, asked[i].Label)
		default:
			c.present++
			fmt.Fprintf(d.stdout, "exists %s %s burst %d\n", s.ID, s.Label, s.Burst)
		}
	}
	return c
}

func sourceName(ns store.NewSample) string {
	if ns.Source != "" {
		return ns.Source
	}
	return "image"
}

// checkClass refuses a class name that breaks the one rule every
// interface applies (control.ValidLabel), as a usage error (exit 2).
func checkClass(op, name string) error {
	if err := control.ValidLabel(name); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: bad class name %q: %w (class names are 1-%d bytes of printable UTF-8 without surrounding spaces)", op, name, err, control.MaxLabelLen)}
	}
	return nil
}

func newDatasetAddCmd(d *deps) *cobra.Command {
	keep := true
	cmd := &cobra.Command{
		Use:   "add LABEL [IMAGE...]",
		Short: "Add images to a class (created if new) as one burst; with no image, just create the class",
		Long: "Add images to a class as one recording burst (undo it with `dataset rm --undo`). Each image\n" +
			"is centre-cropped and resized to 224×224 and kept as PNG (the original too, unless\n" +
			"--keep-original=false). Nothing is added if any image fails to decode. A line\n" +
			"`added ID LABEL burst N` is printed per sample once it is durably stored.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			label, files := args[0], args[1:]
			if err := checkClass("dataset add", label); err != nil {
				return err
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset add: %w", err)
			} else if c != nil {
				return remoteDatasetAdd(cmd.Context(), d, c, label, files)
			}
			var samples []store.NewSample
			var bad []error
			for _, f := range files {
				ns, err := loadSample(f, label, sampleSize, keep, d.images)
				if err != nil {
					bad = append(bad, err)
					continue
				}
				samples = append(samples, ns)
			}
			if len(bad) > 0 {
				return fmt.Errorf("dataset add: nothing added, %d of %d images unreadable: %w", len(bad), len(files), errors.Join(bad...))
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("dataset add: %w", err)
			}
			defer state.Close()
			st := state.Samples()
			if len(samples) == 0 {
				if err := st.AddClass(label); err != nil {
					return fmt.Errorf("dataset add: %w", err)
				}
				fmt.Fprintf(d.stdout, "class %s created\n", label)
				return nil
			}
			burst := st.NextBurst()
			added, err := st.Add(burst, samples)
			if err != nil {
				return fmt.Errorf("dataset add: %w", err)
			}
			return printAdded(d, burst, samples, added).errElsewhere("dataset add")
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-original", true, "also keep the original image file")
	return cmd
}

// countImages counts the files of root's class folders (for the progress).
func countImages(root string, ents []os.DirEntry) int {
	n := 0
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(root, e.Name()))
		for _, f := range files {
			if !f.IsDir() && !strings.HasPrefix(f.Name(), ".") {
				n++
			}
		}
	}
	return n
}

func newDatasetImportCmd(d *deps) *cobra.Command {
	keep := true
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Add every image of DIR/<class>/ as one burst; unreadable files are skipped and listed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := args[0]
			ents, err := os.ReadDir(root)
			if err != nil {
				return fmt.Errorf("dataset import: %w", err)
			}
			// Class folders are checked before anything is added.
			var bad []error
			for _, e := range ents {
				if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
					if err := checkClass("dataset import "+filepath.Join(root, e.Name()), e.Name()); err != nil {
						bad = append(bad, err)
					}
				}
			}
			if len(bad) > 0 {
				return &exitError{code: 2, err: errors.Join(bad...)}
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset import: %w", err)
			} else if c != nil {
				return remoteDatasetImport(cmd.Context(), d, c, root)
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("dataset import: %w", err)
			}
			defer state.Close()
			st := state.Samples()
			// One burst, stored in chunks so that memory stays flat.
			burst := st.NextBurst()
			var chunk []store.NewSample
			var counts addCounts
			skipped := 0
			bar := newProgress(d.stderr, "import")
			total, seen := countImages(root, ents), 0
			flush := func() error {
				if len(chunk) == 0 {
					return nil
				}
				done, err := st.Add(burst, chunk)
				if err != nil {
					return fmt.Errorf("dataset import: %w", err)
				}
				counts.plus(printAdded(d, burst, chunk, done))
				chunk = chunk[:0]
				return nil
			}
			for _, e := range ents {
				if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
					continue
				}
				files, err := os.ReadDir(filepath.Join(root, e.Name()))
				if err != nil {
					return fmt.Errorf("dataset import: %w", err)
				}
				for _, f := range files {
					if f.IsDir() || strings.HasPrefix(f.Name(), ".") {
						continue
					}
					seen++
					bar.update(float64(seen)/float64(max(total, 1)), "", fmt.Sprintf("%d/%d images", seen, total))
					ns, err := loadSample(filepath.Join(root, e.Name(), f.Name()), e.Name(), sampleSize, keep, d.images)
					if err != nil {
						fmt.Fprintf(d.stderr, "skipped %v\n", err)
						skipped++
						continue
					}
					if chunk = append(chunk, ns); len(chunk) == 32 {
						if err := flush(); err != nil {
							return err
						}
					}
				}
			}
			if err := flush(); err != nil {
				return err
			}
			bar.done()
			if counts.added+counts.present+counts.elsewhere == 0 {
				return fmt.Errorf("dataset import %s: no readable images in class sub-folders", root)
			}
			fmt.Fprintf(d.stderr, "imported %s; %d unreadable skipped\n", counts.summary(), skipped)
			return counts.errElsewhere("dataset import")
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-original", true, "also keep the original image files")
	return cmd
}

func newDatasetLsCmd(d *deps) *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the classes with their sample counts (--samples: every sample)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var classes []classJSON
			var samples []sampleJSON
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset ls: %w", err)
			} else if c != nil {
				if classes, samples, err = remoteDatasetLs(cmd.Context(), d, c, all); err != nil {
					return err
				}
			} else {
				state, err := d.openState()
				if err != nil {
					return fmt.Errorf("dataset ls: %w", err)
				}
				defer state.Close()
				st := state.Samples()
				if all {
					for _, s := range st.Samples() {
						samples = append(samples, sampleJSON{ID: s.ID, Label: s.Label, Time: s.Time, Burst: int64(s.Burst), Source: s.Source})
					}
				} else {
					counts := st.Counts()
					for _, c := range st.Classes() {
						classes = append(classes, classJSON{Name: c, Samples: counts[c]})
					}
				}
			}
			if asJSON {
				if all {
					return printJSON(d.stdout, nonNil(samples))
				}
				return printJSON(d.stdout, nonNil(classes))
			}
			w := tabwriter.NewWriter(d.stdout, 0, 4, 2, ' ', 0)
			if all {
				fmt.Fprintln(w, "ID\tLABEL\tTIME\tBURST\tSOURCE")
				for _, s := range samples {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", s.ID, s.Label, s.Time.Format(time.RFC3339), s.Burst, s.Source)
				}
			} else {
				fmt.Fprintln(w, "CLASS\tSAMPLES")
				for _, c := range classes {
					fmt.Fprintf(w, "%s\t%d\n", c.Name, c.Samples)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&all, "samples", false, "list every sample")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array ([{name, samples}], with --samples [{id, label, time, burst, source}])")
	return cmd
}

func newDatasetRmCmd(d *deps) *cobra.Command {
	var class string
	var undo bool
	cmd := &cobra.Command{
		Use:   "rm [ID...] | --class NAME | --undo",
		Short: "Remove samples by ID, a whole class, or the last recording burst",
		RunE: func(cmd *cobra.Command, args []string) error {
			modes := 0
			for _, on := range []bool{len(args) > 0, class != "", undo} {
				if on {
					modes++
				}
			}
			if modes != 1 {
				return &exitError{code: 2, err: errors.New("dataset rm: give sample IDs, --class NAME or --undo (one of them)")}
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset rm: %w", err)
			} else if c != nil {
				switch {
				case undo:
					return remoteSimple(cmd.Context(), d, c, "dataset rm", control.Undo, nil)
				case class != "":
					return remoteSimple(cmd.Context(), d, c, "dataset rm", control.DeleteClass, map[string]any{"label": class})
				default:
					return remoteSimple(cmd.Context(), d, c, "dataset rm", control.DeleteSamples, map[string]any{"ids": args})
				}
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("dataset rm: %w", err)
			}
			defer state.Close()
			st := state.Samples()
			switch {
			case undo:
				burst, n, err := st.UndoBurst()
				if err != nil {
					return fmt.Errorf("dataset rm: %w", err)
				}
				fmt.Fprintf(d.stdout, "removed burst %d (%d samples)\n", burst, n)
			case class != "":
				if !slices.Contains(st.Classes(), class) {
					return fmt.Errorf("dataset rm: class %q: %w (have %v)", class, store.ErrUnknownClass, st.Classes())
				}
				n, err := st.DeleteClass(class)
				if err != nil {
					return fmt.Errorf("dataset rm: %w", err)
				}
				fmt.Fprintf(d.stdout, "removed class %s (%d samples)\n", class, n)
			default:
				if err := st.Remove(args...); err != nil {
					return fmt.Errorf("dataset rm: %w", err)
				}
				fmt.Fprintf(d.stdout, "removed %d samples\n", len(args))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&class, "class", "", "delete this class and all its samples")
	cmd.Flags().BoolVar(&undo, "undo", false, "remove the last recording burst")
	return cmd
}

func newDatasetRenameCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "rename OLD NEW",
		Short: "Rename a class",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkClass("dataset rename", args[1]); err != nil {
				return err
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset rename: %w", err)
			} else if c != nil {
				return remoteSimple(cmd.Context(), d, c, "dataset rename", control.RenameClass, map[string]any{"label": args[0], "to": args[1]})
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("dataset rename: %w", err)
			}
			defer state.Close()
			st := state.Samples()
			if err := st.RenameClass(args[0], args[1]); err != nil {
				return fmt.Errorf("dataset rename: %w", err)
			}
			fmt.Fprintf(d.stdout, "renamed %s to %s\n", args[0], args[1])
			return nil
		},
	}
}

// newDatasetMvCmd is `alphad dataset mv ID... CLASS`: relabel samples (the
// class is created when new).
func newDatasetMvCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "mv ID... CLASS",
		Short: "Move samples to another class (relabel them; the class is created when new)",
		Long: "Move the samples with these ids (alphad dataset ls --samples lists them) to CLASS,\n" +
			"e.g. an image that was taught as the wrong class. Nothing moves if an id is unknown.",
		Args: cobra.MinimumNArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return completeClasses(d), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, to := args[:len(args)-1], args[len(args)-1]
			if err := checkClass("dataset mv", to); err != nil {
				return err
			}
			if c, err := d.remote(); err != nil {
				return fmt.Errorf("dataset mv: %w", err)
			} else if c != nil {
				return remoteSimple(cmd.Context(), d, c, "dataset mv", control.MoveSamples, map[string]any{"ids": ids, "to": to})
			}
			state, err := d.openState()
			if err != nil {
				return fmt.Errorf("dataset mv: %w", err)
			}
			defer state.Close()
			if err := state.Samples().Move(to, ids...); err != nil {
				return fmt.Errorf("dataset mv: %w", err)
			}
			fmt.Fprintf(d.stdout, "moved %d sample(s) to %s\n", len(ids), to)
			return nil
		},
	}
}
