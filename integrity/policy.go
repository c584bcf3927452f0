package integrity

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Policy is a verifier's trust policy: for each algorithm, and for each
// timestamp authority, the period in which the verifier considers it
// secure. It plays the role of the paper's validity oracle: a verifier in
// 2070 writes down when SHA-256, Ed25519, the commitment scheme and each
// TSA stopped being trustworthy, and [Verify] checks that the evidence was
// renewed before each of those dates.
//
// The file form is JSON:
//
//	{
//	  "version": 1,
//	  "algorithms": [
//	    {"kind": "hash", "name": "sha256", "not_after": "2045-01-01T00:00:00Z"},
//	    {"kind": "commitment", "name": "hm-sha256-l1540", "not_after": "2045-01-01T00:00:00Z"},
//	    {"kind": "signature", "name": "ed25519", "not_after": "2040-01-01T00:00:00Z"},
//	    {"kind": "tsa", "name": "*", "not_after": "2035-01-01T00:00:00Z"}
//	  ]
//	}
//
// Kinds are "hash" (sha256, sha3-256, sha512), "commitment" (a commitment
// scheme name), "signature" (ed25519, mldsa65, mldsa87) and "tsa": a TSA
// signing certificate named by "sha256:" and the hex SHA-256 of its DER,
// by "cn:" and its subject common name, or "*" for any TSA that chains to
// the trusted roots. The most specific TSA rule applies. "not_before" is
// optional. An algorithm with no rule is not trusted at all.
type Policy struct {
	Version int    `json:"version"`
	Rules   []Rule `json:"algorithms"`
}

// Rule is one validity period of a trust policy.
type Rule struct {
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after"`
}

// Rule kinds.
const (
	KindHash       = "hash"
	KindCommitment = "commitment"
	KindSignature  = "signature"
	KindTSA        = "tsa"
)

const maxPolicySize = 1 << 20

// ParsePolicy reads a trust policy file. Unknown fields, unknown kinds
// and rules without not_after are errors, so a typo cannot silently trust
// something forever.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("integrity: policy file is larger than %d bytes", maxPolicySize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("integrity: policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("integrity: policy: trailing data after the JSON object")
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("integrity: policy version %d, want 1", p.Version)
	}
	for i, r := range p.Rules {
		switch r.Kind {
		case KindHash, KindCommitment, KindSignature, KindTSA:
		default:
			return nil, fmt.Errorf("integrity: policy rule %d: unknown kind %q (want hash, commitment, signature or tsa)", i, r.Kind)
		}
		if r.Name == "" {
			return nil, fmt.Errorf("integrity: policy rule %d: no name", i)
		}
		if r.NotAfter.IsZero() {
			return nil, fmt.Errorf("integrity: policy rule %d (%s %s): no not_after", i, r.Kind, r.Name)
		}
		if !r.NotBefore.IsZero() && !r.NotBefore.Before(r.NotAfter) {
			return nil, fmt.Errorf("integrity: policy rule %d (%s %s): not_before is not before not_after", i, r.Kind, r.Name)
		}
	}
	return &p, nil
}

// Marshal returns the policy as indented JSON.
func (p *Policy) Marshal() ([]byte, error) { return json.MarshalIndent(p, "", "  ") }

// rule returns the rule for an algorithm.
func (p *Policy) rule(kind, name string) (Rule, bool) {
	for _, r := range p.Rules {
		if r.Kind == kind && r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// tsaRule returns the most specific rule for a TSA certificate.
func (p *Policy) tsaRule(cert *x509.Certificate) (Rule, string, bool) {
	fp := sha256.Sum256(cert.Raw)
	id := "sha256:" + hex.EncodeToString(fp[:])
	if r, ok := p.rule(KindTSA, id); ok {
		return r, id, true
	}
	cn := "cn:" + cert.Subject.CommonName
	if r, ok := p.rule(KindTSA, cn); ok {
		return r, cn, true
	}
	r, ok := p.rule(KindTSA, "*")
	return r, cn, ok
}

// check requires the rule r for which to hold at used (the primitive was
// introduced) and at until (the time it had to remain secure).
func checkRule(r Rule, ok bool, which string, used, until time.Time, why string) error {
	if !ok {
		return fmt.Errorf("%w: no rule for %s", ErrUntrusted, which)
	}
	if !r.NotBefore.IsZero() && used.Before(r.NotBefore) {
		return &ExpiredError{Which: which, When: used, Why: "when it was used", NotBefore: r.NotBefore, NotAfter: r.NotAfter}
	}
	if !until.Before(r.NotAfter) {
		return &ExpiredError{Which: which, When: until, Why: why, NotBefore: r.NotBefore, NotAfter: r.NotAfter}
	}
	return nil
}
