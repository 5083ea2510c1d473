package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/alphad/alphad/pipeline/tflite"
)

func newModelInspectCmd(d *deps) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect MODEL.tflite",
		Short: "Print a model's inputs, outputs, op histogram and the ops alphad cannot run",
		Long: "Print a model's inputs and outputs (shape, type, quantization), its operators by op and\n" +
			"version, and every operator alphad cannot run. Exits 1 when there is any.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := args[0]
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			m, unsupported, err := tflite.Inspect(data)
			if err != nil {
				return fmt.Errorf("inspect %s: %w", path, err)
			}
			if err := writeInspect(d.stdout, path, len(data), m, unsupported); err != nil {
				return fmt.Errorf("inspect %s: %w", path, err)
			}
			if len(unsupported) > 0 {
				return fmt.Errorf("inspect %s: %d operators alphad cannot run", path, len(unsupported))
			}
			return nil
		},
	}
}

// writeInspect prints the report of inspect: a few header lines, then one
// aligned table per section.
func writeInspect(w io.Writer, path string, size int, m *tflite.Model, unsupported []*tflite.UnsupportedOpError) error {
	consts, constBytes, perTensor, perChannel := 0, 0, 0, 0
	for _, t := range m.Tensors {
		if t.IsConst() {
			consts++
			constBytes += len(t.Data)
		}
		switch {
		case t.Quant.PerChannel():
			perChannel++
		case t.Quant != nil:
			perTensor++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model: %s (%d bytes, schema v%d)\n", path, size, m.Version)
	if m.Description != "" {
		fmt.Fprintf(&b, "description: %s\n", m.Description)
	}
	fmt.Fprintf(&b, "tensors: %d (%d constant, %d bytes of weights; quantized: %d per-tensor, %d per-channel)\n",
		len(m.Tensors), consts, constBytes, perTensor, perChannel)
	table := func(rows [][]string) {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, r := range rows {
			fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, g := range []struct {
		what string
		idx  []int
	}{{"inputs", m.Inputs}, {"outputs", m.Outputs}} {
		fmt.Fprintf(&b, "%s:\n", g.what)
		var rows [][]string
		for i, ti := range g.idx {
			t := m.Tensors[ti]
			rows = append(rows, []string{fmt.Sprint(i), t.Name, tensorSig(t), quantString(t)})
		}
		table(rows)
	}
	hist := m.OpHistogram()
	fmt.Fprintf(&b, "operators: %d (%d kinds)\n", len(m.Operators), len(hist))
	var rows [][]string
	for _, c := range hist {
		rows = append(rows, []string{c.Op, fmt.Sprintf("v%d", c.Version), fmt.Sprint(c.Count)})
	}
	table(rows)
	if len(unsupported) == 0 {
		b.WriteString("unsupported: none\n")
	} else {
		fmt.Fprintf(&b, "unsupported: %d\n", len(unsupported))
		rows = rows[:0]
		for _, u := range unsupported {
			rows = append(rows, []string{fmt.Sprintf("operator %d", u.Index), u.Op, fmt.Sprintf("v%d", u.Version), u.Reason})
		}
		table(rows)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tensorSig(t *tflite.Tensor) string {
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = fmt.Sprint(d)
	}
	return fmt.Sprintf("%s[%s]", t.Type, strings.Join(dims, ","))
}

func quantString(t *tflite.Tensor) string {
	q := t.Quant
	switch {
	case q == nil:
		return "not quantized"
	case q.PerChannel():
		return fmt.Sprintf("per-channel: %d scales on axis %d", len(q.Scale), q.Axis)
	default:
		return fmt.Sprintf("per-tensor: scale=%g zero_point=%d", q.Scale[0], q.ZeroPoint[0])
	}
}
