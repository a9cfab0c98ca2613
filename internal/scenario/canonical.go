package scenario

import "reflect"

// canonicalize sets empty slices and maps to nil throughout s, so a parsed
// scenario has one form whether a file wrote "x": [] or left x out (and
// marshalling, which omits empty fields, gives back the same value).
func canonicalize(s *Scenario) { canonicalValue(reflect.ValueOf(s).Elem()) }

func canonicalValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			canonicalValue(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				canonicalValue(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		for i := range v.Len() {
			canonicalValue(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			v.SetZero()
			return
		}
		// map values here are strings, integers or []string; empty
		// []string values are kept, since an empty allow list means
		// "nothing" rather than "absent".
	}
}
