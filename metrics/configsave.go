package metrics

// Writing back the one setting the cockpit remembers: the overview's
// grouping. Only that key changes; the rest of the file, its comments and
// its order are kept.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// SaveGrouping sets cockpit.grouping to grouping in the configuration file
// at path, creating the file (and its folder) when there is none. A file
// that does not parse is left untouched and named in the error.
func SaveGrouping(path, grouping string) error {
	if path == "" {
		return errors.New("no configuration file to remember the grouping in (no HOME): give one with --config")
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("config file %s cannot be read to remember the grouping: %w", path, err)
	}
	out, err := setCockpitKey(data, "grouping", grouping)
	if err != nil {
		return fmt.Errorf("config file %s: %w; the grouping is not remembered: fix the file, or set cockpit.grouping in it by hand", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create %s to remember the grouping: %w", filepath.Dir(path), err)
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	// Write beside and rename: a crash never leaves half a file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("cannot write %s to remember the grouping: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s to remember the grouping: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s to remember the grouping: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("cannot write %s to remember the grouping: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s to remember the grouping: %w", path, err)
	}
	return nil
}

// setCockpitKey returns the YAML document data with cockpit.<key> set to
// value, everything else as it was.
func setCockpitKey(data []byte, key, value string) ([]byte, error) {
	var root yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &root); err != nil {
			return nil, fmt.Errorf("it is not valid YAML (%v)", err)
		}
	}
	if root.Kind == 0 {
		root = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		return nil, errors.New("it is not one YAML document")
	}
	top := root.Content[0]
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		*top = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if top.Kind != yaml.MappingNode {
		return nil, errors.New("its top level is not a mapping")
	}
	cockpit := mappingValue(top, "cockpit")
	if cockpit == nil {
		cockpit = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "cockpit"}, cockpit)
	}
	if cockpit.Kind == yaml.ScalarNode && cockpit.Tag == "!!null" {
		*cockpit = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if cockpit.Kind != yaml.MappingNode {
		return nil, errors.New("cockpit is not a mapping")
	}
	if v := mappingValue(cockpit, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.ScalarNode, "!!str", value, 0, nil
	} else {
		cockpit.Content = append(cockpit.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// mappingValue is the value of key in the mapping node m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
