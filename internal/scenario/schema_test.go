package scenario

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// schemaNode is the part of a JSON Schema this test reads.
type schemaNode struct {
	Type                 string                 `json:"type"`
	Ref                  string                 `json:"$ref"`
	Enum                 []string               `json:"enum"`
	Properties           map[string]*schemaNode `json:"properties"`
	Required             []string               `json:"required"`
	Items                *schemaNode            `json:"items"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Defs                 map[string]*schemaNode `json:"$defs"`
	Schema               string                 `json:"$schema"`
}

// schemaDefs names the Go type behind each $defs entry.
var schemaDefs = map[string]reflect.Type{
	"node":                    reflect.TypeFor[Node](),
	"reverse_route":           reflect.TypeFor[ReverseRoute](),
	"context":                 reflect.TypeFor[Context](),
	"endpoint":                reflect.TypeFor[Endpoint](),
	"link":                    reflect.TypeFor[Link](),
	"fault":                   reflect.TypeFor[Fault](),
	"step":                    reflect.TypeFor[Step](),
	"option":                  reflect.TypeFor[StepOption](),
	"seq_pin":                 reflect.TypeFor[SeqPin](),
	"expect":                  reflect.TypeFor[Expect](),
	"edhoc":                   reflect.TypeFor[EDHOC](),
	"edhoc_identity":          reflect.TypeFor[EDHOCIdentity](),
	"group_context":           reflect.TypeFor[GroupContext](),
	"group_context_member":    reflect.TypeFor[GroupContextMember](),
	"group":                   reflect.TypeFor[Group](),
	"group_member":            reflect.TypeFor[GroupMember](),
	"member_response":         reflect.TypeFor[MemberResponse](),
	"multicast_notifications": reflect.TypeFor[MulticastNotifications](),
	"mn_client":               reflect.TypeFor[MNClient](),
	"mn_notification":         reflect.TypeFor[MNNotification](),
	"mn_expected":             reflect.TypeFor[MNExpected](),
}

// TestSchemaMatchesTypes keeps scenario.schema.json and the Go types in
// step: the same objects, the same field names, required exactly when the
// Go field has no omitempty, and compatible JSON types. (Validating the
// built-ins against the schema itself would need a validator dependency.)
func TestSchemaMatchesTypes(t *testing.T) {
	raw, err := os.ReadFile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root schemaNode
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	if root.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema is %q, want draft 2020-12", root.Schema)
	}
	var defNames []string
	for name := range root.Defs {
		defNames = append(defNames, name)
	}
	sort.Strings(defNames)
	var wantDefs []string
	for name := range schemaDefs {
		wantDefs = append(wantDefs, name)
	}
	sort.Strings(wantDefs)
	if !slices.Equal(defNames, wantDefs) {
		t.Fatalf("$defs %v, want %v", defNames, wantDefs)
	}
	compareObject(t, "#", &root, reflect.TypeFor[Scenario]())
	for name, typ := range schemaDefs {
		compareObject(t, "#/$defs/"+name, root.Defs[name], typ)
	}
}

func compareObject(t *testing.T, where string, s *schemaNode, typ reflect.Type) {
	t.Helper()
	if s.Type != "object" || string(s.AdditionalProperties) != "false" {
		t.Errorf("%s: want type object with additionalProperties false", where)
	}
	goFields := map[string]reflect.StructField{}
	var goRequired []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := jsonName(f)
		if name == "" {
			continue
		}
		goFields[name] = f
		if !strings.Contains(f.Tag.Get("json"), ",omitempty") {
			goRequired = append(goRequired, name)
		}
	}
	for name := range s.Properties {
		if _, ok := goFields[name]; !ok {
			t.Errorf("%s: schema property %q has no field in %s", where, name, typ)
		}
	}
	for name, f := range goFields {
		p, ok := s.Properties[name]
		if !ok {
			t.Errorf("%s: %s.%s (%q) is missing from the schema", where, typ, f.Name, name)
			continue
		}
		compareValue(t, where+"/"+name, p, f.Type)
	}
	sort.Strings(goRequired)
	required := slices.Clone(s.Required)
	sort.Strings(required)
	if !slices.Equal(required, goRequired) {
		t.Errorf("%s: required %v, but the Go fields without omitempty are %v", where, required, goRequired)
	}
}

func compareValue(t *testing.T, where string, s *schemaNode, typ reflect.Type) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if s.Ref != "" {
		def := strings.TrimPrefix(s.Ref, "#/$defs/")
		if schemaDefs[def] != typ {
			t.Errorf("%s: $ref %s, but the Go type is %s", where, s.Ref, typ)
		}
		return
	}
	if s.Enum != nil {
		if typ.Kind() != reflect.String {
			t.Errorf("%s: enum for Go type %s", where, typ)
		}
		return
	}
	want := map[reflect.Kind]string{
		reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer", reflect.Uint16: "integer",
		reflect.Uint64: "integer", reflect.Slice: "array", reflect.Map: "object",
	}[typ.Kind()]
	if s.Type != want {
		t.Errorf("%s: schema type %q, Go type %s wants %q", where, s.Type, typ, want)
	}
	if typ.Kind() == reflect.Slice {
		if s.Items == nil {
			t.Errorf("%s: array without items", where)
			return
		}
		compareValue(t, where+"/items", s.Items, typ.Elem())
	}
	if typ.Kind() == reflect.Map {
		var add schemaNode
		if err := json.Unmarshal(s.AdditionalProperties, &add); err != nil {
			t.Errorf("%s: map without an additionalProperties schema", where)
			return
		}
		compareValue(t, where+"/additionalProperties", &add, typ.Elem())
	}
}
