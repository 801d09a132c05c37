package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// errNoKeys refuses a file that sets nothing: most often one read while it was being written.
var errNoKeys = errors.New("the file sets no key (empty, only comments, or an empty mapping): refused")

// decodeFile decodes one YAML document of keys into c. Boolean keys take their written text
// through DjangoBool, so a file reads booleans as the environment does; a key c does not have,
// at any depth, is an error.
func decodeFile(content []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return errNoKeys
		}
		return err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		if err != nil {
			return err
		}
		return fmt.Errorf("line %d: a second YAML document: the file must hold exactly one", more.Line)
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return errNoKeys
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: the file must be a mapping of keys", root.Line)
	}
	if len(root.Content) == 0 {
		return errNoKeys
	}
	if unknown := checkKeys(root, reflect.TypeFor[Config](), ""); len(unknown) > 0 {
		return errors.New(strings.Join(unknown, "; "))
	}
	normaliseBools(root, reflect.TypeFor[Config]())
	for i := 0; i+1 < len(root.Content); i += 2 {
		c.setGlobalSource(root.Content[i].Value, SourceFile)
	}
	return doc.Decode(c)
}

// yamlField finds the field of struct type t whose yaml tag is key.
func yamlField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// checkKeys returns a problem ("line N: unknown key K") for every mapping key, in the order of
// the file, that the struct type t (or the structs inside it) lacks.
func checkKeys(n *yaml.Node, t reflect.Type, path string) []string {
	var unknown []string
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
		if n.Kind == yaml.SequenceNode {
			for i, item := range n.Content {
				unknown = append(unknown, checkKeys(item, t, fmt.Sprintf("%s[%d]", path, i))...)
			}
			return unknown
		}
	}
	if t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 { // a map of structs (routes): any key, known fields
			unknown = append(unknown, checkKeys(n.Content[i+1], t.Elem(), prefix(path)+n.Content[i].Value)...)
		}
		return unknown
	}
	if t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode {
		return nil // scalars, maps of any key, and type mismatches that Decode reports
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i].Value
		f, ok := yamlField(t, key)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("line %d: unknown key %s%s", n.Content[i].Line, prefix(path), key))
			continue
		}
		unknown = append(unknown, checkKeys(n.Content[i+1], f.Type, prefix(path)+key)...)
	}
	return unknown
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + "."
}

// normaliseBools rewrites the scalar of every boolean key of the mapping n (and of the structs
// in its maps of structs: routes) to true or false by DjangoBool, an empty value included (false).
func normaliseBools(n *yaml.Node, t reflect.Type) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		f, ok := yamlField(t, n.Content[i].Value)
		v := n.Content[i+1]
		if !ok {
			continue
		}
		if f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Struct && v.Kind == yaml.MappingNode {
			for j := 1; j < len(v.Content); j += 2 {
				if v.Content[j].Kind == yaml.MappingNode {
					normaliseBools(v.Content[j], f.Type.Elem())
				}
			}
			continue
		}
		kind := f.Type.Kind()
		if kind == reflect.Pointer {
			kind = f.Type.Elem().Kind()
		}
		if kind != reflect.Bool || v.Kind != yaml.ScalarNode {
			continue
		}
		text := v.Value
		if v.Tag == "!!null" {
			text = ""
		}
		v.Value, v.Tag, v.Style = fmt.Sprint(DjangoBool(text)), "!!bool", 0
	}
}
