package daemon

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/config.md from the configuration structs")

// TestConfigDoc: docs/config.md is generated from the configuration
// structs (every key, its kind) and ExampleConfig (defaults and the
// comments). It fails when they drift apart; refresh with
// go test ./internal/daemon -run TestConfigDoc -update
func TestConfigDoc(t *testing.T) {
	got := configReference(t)
	path := filepath.Join("..", "..", "docs", "config.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Fatalf("docs/config.md is out of date with the configuration structs; refresh with\n  go test ./internal/daemon -run TestConfigDoc -update")
	}
	// Every key of the structs is in the reference.
	for _, k := range configKeys(reflect.TypeFor[Config](), "") {
		if !strings.Contains(got, "| `"+k+"` |") {
			t.Errorf("key %s missing from the reference", k)
		}
	}
}

// configKeys lists the leaf keys of a configuration type ("a.b", lists of
// sections as "a[].b").
func configKeys(t reflect.Type, prefix string) []string {
	var out []string
	fields := yamlFields(t)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		ft := fields[k]
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			out = append(out, configKeys(ft, prefix+k+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, configKeys(ft.Elem(), prefix+k+"[].")...)
		default:
			out = append(out, prefix+k)
		}
	}
	return out
}

// kindWord names a value type in user words.
func kindWord(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true/false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of sections"
		}
		return "list of " + kindWord(t.Elem())
	case reflect.Map:
		return "map of " + kindWord(t.Elem())
	}
	return "text"
}

var hookLine = regexp.MustCompile(`^#\s*-?\s*([a-z_]+):\s*(.*?)(?:\s+#\s*(.*))?$`)

func configReference(t *testing.T) string {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(ExampleConfig), &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0]
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from the configuration structs and ExampleConfig
     (internal/daemon/example.go) by: go test ./internal/daemon -run TestConfigDoc -update
     Do not edit by hand: a test fails when this file drifts. -->

One YAML file (` + "`/etc/alphad/alphad.yaml`" + `, or ` + "`alphad run --config FILE`" + `); every key is
optional and defaults to the value below. ` + "`alphad config example`" + ` prints a complete file,
` + "`alphad config check FILE`" + ` lists every problem at once (unknown keys with a "did you mean",
values of the wrong kind, values out of range) with their lines and exits 2.
Durations are written like ` + "`500ms`, `2s`, `1m30s`" + `.

`)
	top := yamlFields(reflect.TypeFor[Config]())
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		ft, ok := top[k.Value]
		if !ok {
			t.Fatalf("ExampleConfig key %s is not in Config", k.Value)
		}
		if ft.Kind() == reflect.Struct {
			fmt.Fprintf(&b, "## `%s`\n\n", k.Value)
			if c := comment(k.LineComment); c != "" {
				b.WriteString(c + "\n\n")
			}
			b.WriteString("| key | kind | default | meaning |\n|---|---|---|---|\n")
			section(&b, k.Value, ft, v)
			b.WriteString("\n")
			continue
		}
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			fmt.Fprintf(&b, "## `%s`\n\n", k.Value)
			if c := comment(k.LineComment); c != "" {
				b.WriteString(c + "\n\n")
			}
			b.WriteString("A list; each entry has these keys (see [hooks.md](hooks.md)).\n\n| key | kind | default | meaning |\n|---|---|---|---|\n")
			docs := map[string][2]string{}
			for _, line := range strings.Split(k.FootComment+"\n"+v.FootComment+"\n"+v.LineComment, "\n") {
				if m := hookLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
					docs[m[1]] = [2]string{m[2], m[3]}
				}
			}
			for _, name := range configKeys(ft.Elem(), "") {
				d := docs[name]
				desc := d[1]
				if desc == "" {
					desc = fieldDoc(ft.Elem(), name)
				}
				fmt.Fprintf(&b, "| `%s[].%s` | %s | %s | %s |\n", k.Value, name, kindWord(yamlFields(ft.Elem())[name]), d[0], cell(desc))
			}
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(&b, "## `%s`\n\n| key | kind | default | meaning |\n|---|---|---|---|\n", k.Value)
		row(&b, k.Value, reflect.TypeFor[Config](), ft, k, v)
		b.WriteString("\n")
	}
	return b.String()
}

// section writes the rows of one section (nested sections flattened),
// in the example's order, then any struct key the example leaves out.
func section(b *strings.Builder, path string, t reflect.Type, n *yaml.Node) {
	fields := yamlFields(t)
	seen := map[string]bool{}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				continue
			}
			seen[k.Value] = true
			if ft.Kind() == reflect.Struct && ft != durationType {
				section(b, path+"."+k.Value, ft, v)
				continue
			}
			row(b, path+"."+k.Value, t, ft, k, v)
		}
	}
	var rest []string
	for k := range fields {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		ft := fields[k]
		if ft.Kind() == reflect.Struct && ft != durationType {
			section(b, path+"."+k, ft, &yaml.Node{})
			continue
		}
		fmt.Fprintf(b, "| `%s.%s` | %s | | %s |\n", path, k, kindWord(ft), cell(fieldDoc(t, k)))
	}
}

func row(b *strings.Builder, path string, parent, t reflect.Type, k, v *yaml.Node) {
	def := ""
	switch v.Kind {
	case yaml.ScalarNode:
		def = v.Value
		if def == "" {
			def = `""`
		}
	case yaml.SequenceNode:
		def = flow(v)
	}
	desc := comment(v.LineComment)
	if desc == "" {
		desc = comment(k.LineComment)
	}
	if hc := comment(k.HeadComment); hc != "" && path != "version" { // version's is the file's header
		desc = strings.TrimSpace(hc + " " + desc)
	}
	if desc == "" {
		desc = fieldDoc(parent, k.Value)
	}
	fmt.Fprintf(b, "| `%s` | %s | `%s` | %s |\n", path, kindWord(t), def, cell(desc))
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		for _, name := range configKeys(t.Elem(), "") {
			fmt.Fprintf(b, "| `%s[].%s` | %s | | %s |\n", path, name, kindWord(yamlFields(t.Elem())[name]), cell(fieldDoc(t.Elem(), name)))
		}
	}
}

// flow writes a YAML list on one line, without comments.
func flow(n *yaml.Node) string {
	c := *n
	var strip func(*yaml.Node) *yaml.Node
	strip = func(n *yaml.Node) *yaml.Node {
		m := *n
		m.HeadComment, m.LineComment, m.FootComment = "", "", ""
		if m.Kind == yaml.SequenceNode || m.Kind == yaml.MappingNode {
			m.Style = yaml.FlowStyle
			m.Content = nil
			for _, e := range n.Content {
				m.Content = append(m.Content, strip(e))
			}
		}
		return &m
	}
	out, _ := yaml.Marshal(strip(&c))
	return strings.TrimSpace(string(out))
}

// fieldDoc is the Go doc comment of the field of struct type t whose
// YAML key is key (inline structs searched too), read from the source of
// the package that declares t.
func fieldDoc(t reflect.Type, key string) string {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if d := fieldDoc(f.Type, key); d != "" {
				return d
			}
			continue
		}
		if name == key {
			return sourceDocs()[t.PkgPath()+"."+t.Name()+"."+f.Name]
		}
	}
	return ""
}

// sourceDocs maps "pkgpath.Type.Field" to the field's doc (or line)
// comment for every struct in the module.
var sourceDocs = sync.OnceValue(func() map[string]string {
	const module = "github.com/alphad/alphad"
	out := map[string]string{}
	rootDir := filepath.Join("..", "..")
	filepath.WalkDir(rootDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(rootDir, filepath.Dir(path))
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fld := range st.Fields.List {
				text := strings.TrimSpace(fld.Doc.Text() + " " + fld.Comment.Text())
				text = strings.Join(strings.Fields(text), " ")
				for _, n := range fld.Names {
					out[pkg+"."+ts.Name.Name+"."+n.Name] = text
				}
			}
			return true
		})
		return nil
	})
	return out
})

// comment joins YAML comment lines into one sentence.
func comment(c string) string {
	var parts []string
	for _, l := range strings.Split(c, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
		if l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
