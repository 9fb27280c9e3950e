package inlinehook_test

import (
	"encoding/json/jsontext"
	"math"
)

func mathNaN() float64 { return math.NaN() }

func rawJSON(s string) jsontext.Value { return jsontext.Value(s) }
