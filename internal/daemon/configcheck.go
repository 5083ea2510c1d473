package daemon

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// checkSchema walks a YAML document against the configuration structs and
// lists every unknown key and every value of the wrong kind, in user words
// (no Go types) with the line, and a "did you mean" for a misspelt key.
// yaml.v3's own decoder stops describing a section at its first unknown
// key and names Go types; this walk is what `config check` reports.
func checkSchema(root *yaml.Node) []FieldError {
	n := root
	if n.Kind == 0 {
		return nil // an empty file: the defaults
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	var fe []FieldError
	walkSchema(n, reflect.TypeFor[Config](), "", &fe)
	sort.SliceStable(fe, func(i, j int) bool { return fe[i].Line < fe[j].Line })
	return fe
}

// yamlFields are the keys of a struct type as YAML sees them (inline
// structs flattened), with their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func walkSchema(n *yaml.Node, t reflect.Type, path string, fe *[]FieldError) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the default
	}
	bad := func(msg string) { *fe = append(*fe, FieldError{Path: cmpPath(path), Line: n.Line, Msg: msg}) }
	custom := reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType)
	switch {
	case custom || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map:
		if n.Kind != yaml.ScalarNode && !custom {
			bad("must be a single value, not " + nodeKind(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			bad(valueProblem(n, t, err))
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("must be a section of keys, not " + nodeKind(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if s := closest(k.Value, fields); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				*fe = append(*fe, FieldError{Path: join(path, k.Value), Line: k.Line, Msg: msg})
				continue
			}
			walkSchema(v, ft, join(path, k.Value), fe)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad("must be a list, not " + nodeKind(n))
			return
		}
		for i, e := range n.Content {
			walkSchema(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), fe)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("must be a section of keys, not " + nodeKind(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkSchema(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), fe)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func cmpPath(p string) string {
	if p == "" {
		return "(file)"
	}
	return p
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a section"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// valueProblem says in user words why a scalar does not fit.
func valueProblem(n *yaml.Node, t reflect.Type, err error) string {
	v := fmt.Sprintf("%q", n.Value)
	if t == durationType {
		return v + " is not a duration (like 500ms, 2s, 1m30s)"
	}
	switch t.Kind() {
	case reflect.Bool:
		return v + " is not true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v + " is not a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v + " is not a whole number ≥ 0"
	case reflect.Float32, reflect.Float64:
		return v + " is not a number"
	case reflect.String:
		return v + " is not text"
	}
	// A type of its own (a secret, an enum): its message, without yaml's
	// Go type names.
	msg := err.Error()
	if k := strings.LastIndex(msg, ": "); k >= 0 && strings.Contains(msg, "unmarshal") {
		msg = msg[k+2:]
	}
	return v + ": " + strings.TrimPrefix(msg, "yaml: ")
}

// closest is the known key nearest to key by edit distance, when it is
// near enough to be a typo ("" otherwise).
func closest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 1<<30
	for k := range fields {
		if d := editDistance(key, k); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	limit := max(1, len(key)/3)
	if bestD <= limit || strings.HasPrefix(best, key) || strings.HasPrefix(key, best) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance (insert, delete, substitute;
// a swap of two neighbours counts as one).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
