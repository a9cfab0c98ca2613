package scenario

import "encoding/json"

// Clone returns a deep copy, so callers may edit a built-in freely.
func (s *Scenario) Clone() *Scenario {
	data, err := json.Marshal(s)
	if err != nil {
		return nil // unreachable: a Scenario has only JSON-safe fields
	}
	var c Scenario
	if err := json.Unmarshal(data, &c); err != nil {
		return nil
	}
	return &c
}
