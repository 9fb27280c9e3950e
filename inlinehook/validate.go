package inlinehook

import (
	"bytes"
	"encoding/json/jsontext"
	"encoding/json/v2"
	"errors"
	"strconv"
)

// Reasons a response is rejected for: the Reason of a [Violation], and its
// Message up to the parenthesis. ReasonIDTokenNotPresent,
// ReasonAccessTokenNotPresent and ReasonPathNotFound are the ones Okta's
// System Log is known to print; the others follow their style.
const (
	ReasonInvalidCommandType    = "Invalid command type"
	ReasonIDTokenNotPresent     = "ID Token not present"
	ReasonAccessTokenNotPresent = "Access Token not present"
	ReasonInvalidOperation      = "Invalid operation"
	ReasonInvalidPath           = "Invalid path"
	ReasonEmptyClaimName        = "Claim name is empty"
	ReasonBadEscape             = "Invalid escape in path"
	ReasonReservedClaim         = "Claim is reserved"
	ReasonValueRequired         = "Value is required for add/replace operation"
	ReasonValueNotNull          = "Value must be null for remove operation"
	ReasonInvalidValue          = "Value is not valid JSON"
	ReasonLifetimeOp            = "Lifetime can only be replaced"
	ReasonLifetimeNotInteger    = "Lifetime must be an integer"
	ReasonLifetimeRange         = "Lifetime must be between 300 and 86400 seconds"
	ReasonPathNotFound          = "Path not found"
	ReasonInvalidIndex          = "Invalid array index"
	ReasonIndexOutOfBounds      = "Array index out of bounds"
	ReasonResponseTooLarge      = "Response too large"
)

// Violation is one reason Okta would reject a response. Any violation makes
// Okta discard the whole response and mint the tokens unmodified.
type Violation struct {
	// Command indexes resp.Commands and Op the command's Value. Op is -1
	// when the violation is about the whole command; both are -1 when it is
	// about the whole response.
	Command, Op int
	// Type, OpName and Path echo the command's type and the operation's op
	// and path ("" when not applicable).
	Type, OpName, Path string
	// Reason is one of the Reason constants: stable, low-cardinality, fit
	// for a metric label.
	Reason string
	// Message is what Okta's System Log would say, e.g.
	// "Path not found(op=replace, path=/claims/x)".
	Message string
}

// Error returns v.Message.
func (v Violation) Error() string { return v.Message }

// Validate lists every reason Okta would reject resp as an answer to req,
// under the zero [Rules]; see [Rules.Validate].
func Validate(req *TokenRequest, resp *Response) []Violation {
	return Rules{}.Validate(req, resp)
}

// Validate lists every reason Okta would reject resp as an answer to req, in
// order; nil means Okta would apply it. A nil req is a request that mints
// no token.
//
// Operations are judged in order against a simulated copy of the tokens,
// as Okta applies them: an operation may rely on what earlier valid
// operations did to the same token. An invalid operation is reported and
// then ignored, so each mistake is reported once, where it is made.
//
// A response with an error object has no violations whatever its commands:
// Okta denies the token, and the commands never run. Size and syntax are
// checked before a response is decoded: see [ParseResponse].
func (r Rules) Validate(req *TokenRequest, resp *Response) []Violation {
	var e engine
	r.evaluate(&e, req, resp)
	return e.violations
}

// Prune drops from resp every operation Okta would reject, under the zero
// [Rules]; see [Rules.Prune].
func Prune(req *TokenRequest, resp *Response) (dropped []Violation) {
	return Rules{}.Prune(req, resp)
}

// Prune drops from resp every operation that [Rules.Validate] reports, and
// every command reported as a whole (an unknown type, or a token that is not
// being minted), then drops the commands left without operations. It
// returns what it dropped, indexed into resp as it was. req is never
// modified; resp's slices are replaced, never written into.
//
// This is where a hook and Okta part ways on purpose. Okta discards the
// whole response when one operation is wrong, so one bad claim costs every
// good one. Prune is a response guard for the hook's side: it removes the
// bad operations first, so the rest is valid and lands. It repeats until
// Validate finds nothing, so that removing one operation can never leave a
// later one invalid (with the engine's skip-the-invalid semantics the first
// round already suffices; the loop makes that a checked property rather
// than an assumption). A response with an error object is left alone.
func (r Rules) Prune(req *TokenRequest, resp *Response) (dropped []Violation) {
	if resp == nil || resp.Error != nil {
		return nil
	}
	// work is the response being pruned, origin maps its commands and
	// operations back to the caller's indexes.
	type origin struct {
		cmd int
		ops []int // nil: identity mapping
	}
	work := resp.Commands
	orig := make([]origin, len(work))
	for i := range orig {
		orig[i].cmd = i
	}
	changed := false
	for {
		vs := r.Validate(req, &Response{Commands: work})
		if len(vs) == 0 {
			break
		}
		changed = true
		dropCmd := make(map[int]bool)
		dropOp := make(map[[2]int]bool)
		for _, v := range vs {
			if v.Op < 0 {
				dropCmd[v.Command] = true
			} else {
				dropOp[[2]int{v.Command, v.Op}] = true
			}
			o := orig[v.Command]
			v.Command = o.cmd
			if v.Op >= 0 && o.ops != nil {
				v.Op = o.ops[v.Op]
			}
			dropped = append(dropped, v)
		}
		var next []Command
		var nextOrig []origin
		for ci, c := range work {
			if dropCmd[ci] {
				continue
			}
			nc := Command{Type: c.Type}
			no := origin{cmd: orig[ci].cmd}
			for oi, op := range c.Value {
				if dropOp[[2]int{ci, oi}] {
					continue
				}
				nc.Value = append(nc.Value, op)
				if orig[ci].ops != nil {
					no.ops = append(no.ops, orig[ci].ops[oi])
				} else {
					no.ops = append(no.ops, oi)
				}
			}
			next = append(next, nc)
			nextOrig = append(nextOrig, no)
		}
		work, orig = next, nextOrig
	}
	var kept []Command
	for _, c := range work {
		if len(c.Value) == 0 {
			changed = true
			continue
		}
		kept = append(kept, c)
	}
	if changed {
		resp.Commands = kept
	}
	return dropped
}

// ValidateSize reports a response body of n bytes that Okta would refuse
// for its size (MaxResponseSize or more), or returns nil.
func ValidateSize(n int) *Violation {
	if n < MaxResponseSize {
		return nil
	}
	return &Violation{
		Command: -1, Op: -1, Reason: ReasonResponseTooLarge,
		Message: ReasonResponseTooLarge + "(size=" + strconv.Itoa(n) +
			", limit=" + strconv.Itoa(MaxResponseSize) + ")",
	}
}

// DeserializeError is a response body that is not a JSON object of the
// response's shape. Its message is Okta's System Log message for the case.
type DeserializeError struct {
	Line, Column int   // 1-based position of the error; Column counts bytes
	Offset       int64 // 0-based byte offset of the error
	Err          error // the decoder's own description
}

// Error returns Okta's message, e.g. "Could not deserialize inline hook
// response due to error at Line 1 Column 12".
func (e *DeserializeError) Error() string {
	return "Could not deserialize inline hook response due to error at Line " +
		strconv.Itoa(e.Line) + " Column " + strconv.Itoa(e.Column)
}

// Unwrap returns e.Err.
func (e *DeserializeError) Unwrap() error { return e.Err }

// ParseResponse decodes a response body the way Okta reads it. It fails with
// a *[Violation] (Reason [ReasonResponseTooLarge]) for a body of
// [MaxResponseSize] bytes or more, and with a *[DeserializeError] for a body
// that is not a JSON object of the response's shape: malformed JSON, a
// member of the wrong type, an empty body, a top-level null, or anything
// after the object.
//
// It rejects nothing Okta is known to accept: unknown members are ignored at
// every level, and a repeated member name is accepted (objects merge, other
// values: the last wins). Decoding checks the shape only; run
// [Rules.Validate] on the result to check the commands.
func ParseResponse(body []byte) (*Response, error) {
	if v := ValidateSize(len(body)); v != nil {
		return nil, v
	}
	var resp Response
	if err := json.Unmarshal(body, &resp, jsontext.AllowDuplicateNames(true)); err != nil {
		return nil, newDeserializeError(body, err)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); !bytes.HasPrefix(t, []byte("{")) {
		// Only null gets here: json.Unmarshal accepts it as "no change".
		off := int64(len(body) - len(t))
		return nil, newDeserializeError(body, &jsontext.SyntacticError{
			ByteOffset: off, Err: errNotObject,
		})
	}
	return &resp, nil
}

// newDeserializeError locates err, a json/v2 error, in body.
func newDeserializeError(body []byte, err error) *DeserializeError {
	var off int64
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		off = syn.ByteOffset
	case errors.As(err, &sem):
		off = sem.ByteOffset
	}
	line, col := lineColumn(body, off)
	return &DeserializeError{Line: line, Column: col, Offset: off, Err: err}
}

// lineColumn converts a byte offset in b into a 1-based line and column.
// "\n", "\r\n" and a lone "\r" each end a line; columns count bytes.
func lineColumn(b []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(b)))
	line, start := 1, 0
	for i := 0; i < int(off); i++ {
		switch b[i] {
		case '\n':
			line, start = line+1, i+1
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			line, start = line+1, i+1
		}
	}
	return line, int(off) - start + 1
}
