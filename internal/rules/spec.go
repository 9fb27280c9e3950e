package rules

// Spec is a rule set as an operator writes it in the configuration: the
// lookups that fetch store records, then the rules that turn the request
// and those records into claims, lifetimes and denials.
type Spec struct {
	Lookups []LookupSpec `yaml:"lookups"`
	Rules   []RuleSpec   `yaml:"rules"`
}

// LookupSpec fetches one store record per hook call.
type LookupSpec struct {
	// Name is the variable the record's attributes are bound to in rule
	// expressions (a map; empty when no record was found). It must be a
	// CEL identifier that names no other input.
	Name string `yaml:"name"`
	// Key is a CEL expression of type string: the record's key, e.g.
	// login, or "client:" + client_id. An empty string (or null) means
	// there is nothing to look up for this request.
	Key string `yaml:"key"`
	// Required makes a failed or timed-out store call deny the token (the
	// hook answers with an error object); by default the lookup is best
	// effort: its variable is empty and the rules that need it leave their
	// claims out, so the token is still issued in time.
	Required bool `yaml:"required"`
}

// RuleSpec is one rule. Exactly one of Claim, Lifetime and Deny says what
// kind of rule it is.
type RuleSpec struct {
	// Name identifies the rule in errors and logs; default "rule N".
	Name string `yaml:"name"`
	// When is an optional CEL condition (bool); the rule fires when it is
	// true or absent.
	When string `yaml:"when"`
	// Token is id (default), access or both: which tokens the rule writes.
	Token string `yaml:"token"`

	// Claim is the claim a claim rule writes. Op says how: add (default;
	// adds or overwrites), replace (only a claim the token already has),
	// remove, or append (adds Value's elements to an array claim, creating
	// it when absent). Value is the CEL expression of the claim's value,
	// required except for remove: strings, numbers, booleans, lists and maps
	// are all fine; null or an empty optional (user.?attr) leaves the claim
	// out.
	Claim string `yaml:"claim"`
	Op    string `yaml:"op"`
	Value string `yaml:"value"`

	// Lifetime is a CEL expression (int, seconds) replacing the token's
	// lifetime; Okta accepts 300 to 86 400.
	Lifetime string `yaml:"lifetime"`

	// Deny is the errorSummary of a denial: when the rule fires, Okta
	// issues no token and the requester gets server_error with this text.
	// A deny rule needs a When condition. The text is fixed, not an
	// expression, so a denial cannot leak store data.
	Deny string `yaml:"deny"`

	// Required makes an evaluation error of this rule deny the token;
	// by default a failing rule is left out (best effort).
	Required bool `yaml:"required"`

	// Precedence orders rules that write the same claim (or lifetime) of
	// the same token: when several fire, the highest wins. Two such rules
	// must both set it, to different values.
	Precedence *int `yaml:"precedence"`
}

// Token selects the tokens a rule writes.
type Token uint8

// Tokens a rule may write.
const (
	IDToken Token = 1 << iota
	AccessToken
	BothTokens = IDToken | AccessToken
)

// String returns the configuration's name of a single token: id or access.
func (t Token) String() string {
	switch t {
	case IDToken:
		return "id"
	case AccessToken:
		return "access"
	case BothTokens:
		return "both"
	}
	return "none"
}

// Op is what an [Action] does.
type Op string

// Ops of actions. Append adds to an array claim; the caller turns it into
// Okta's operations (add at /claims/NAME/- per element, or add of the
// whole array when the claim is absent).
const (
	OpAdd      Op = "add"
	OpReplace  Op = "replace"
	OpRemove   Op = "remove"
	OpAppend   Op = "append"
	OpLifetime Op = "lifetime"
)

// Lifetime bounds Okta accepts for a token's lifetime, in seconds.
const (
	MinLifetime = 300
	MaxLifetime = 86400
)
