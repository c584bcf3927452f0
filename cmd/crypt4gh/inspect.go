package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

// inspectReport is what inspect prints. Nothing in it is secret: the
// content part (with --sk) holds no key.
type inspectReport struct {
	Version    uint32          `json:"version"`
	HeaderSize int             `json:"header_size"`
	Packets    []packetInfo    `json:"packets"`
	PQExposed  bool            `json:"pq_exposed"`
	Signatures []signatureInfo `json:"signatures"`
	// PayloadSize and Segments are known for regular files only.
	PayloadSize *int64       `json:"payload_size,omitempty"`
	Segments    *int64       `json:"segments,omitempty"`
	Content     *contentInfo `json:"content,omitempty"`
}

type packetInfo struct {
	Method      uint32 `json:"method"`
	MethodName  string `json:"method_name"`
	PostQuantum bool   `json:"post_quantum"`
	Size        int    `json:"size"`
}

type signatureInfo struct {
	Algorithm     uint32 `json:"algorithm"`
	AlgorithmName string `json:"algorithm_name"`
	KeyID         string `json:"key_id"`
}

type contentInfo struct {
	Opened         []int       `json:"opened"`
	DataMethod     uint32      `json:"data_method"`
	DataMethodName string      `json:"data_method_name"`
	EditList       []uint64    `json:"edit_list"`
	Expiry         *time.Time  `json:"expiry"`
	Expired        bool        `json:"expired"`
	Link           *string     `json:"link"`
	SegmentMap     *segmentMap `json:"segment_map"`
	// PlaintextSize is the visible plaintext (after the edit list), for
	// regular files only.
	PlaintextSize *int64 `json:"plaintext_size,omitempty"`
}

type segmentMap struct {
	Total uint64     `json:"total"`
	Runs  [][2]int64 `json:"runs"` // [first, count]
}

func packetMethodName(m uint32) string {
	switch m {
	case crypt4gh.PacketX25519:
		return "x25519_chacha20_ietf_poly1305"
	case crypt4gh.PacketX25519MLKEM1024:
		return "x25519_mlkem1024_chacha20_ietf_poly1305"
	}
	return "unknown"
}

func dataMethodName(m uint32) string {
	switch m {
	case crypt4gh.DataChaCha20Poly1305:
		return "chacha20_ietf_poly1305"
	case crypt4gh.DataChaCha20Poly1305PR736:
		return "chacha20_ietf_poly1305_with_AEAD"
	case crypt4gh.DataSealedChaCha20Poly1305:
		return "sealed_chacha20_ietf_poly1305"
	case crypt4gh.DataSealedAES256GCM:
		return "sealed_aes256_gcm"
	}
	return "unknown"
}

func signatureAlgorithmName(alg uint32) string {
	for name, a := range signatureAlgorithms {
		if a == alg {
			return name
		}
	}
	return "unknown"
}

func (a *app) cmdInspect(args []string) error {
	fs := newFlagSet("inspect")
	var (
		input, sk string
		asJSON    bool
	)
	fs.StringVar(&input, "i", "", "")
	fs.StringVar(&input, "input", "", "")
	fs.StringVar(&sk, "sk", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	in, err := a.openInput(input)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := a.refuseTerminalInput(in, "inspect"); err != nil {
		return err
	}
	// Only an explicit key: inspect works without one.
	var id crypt4gh.Identity
	keyPath, source := a.secretKeyPath(sk, true)
	if keyPath != "" {
		if id, err = a.loadIdentity(keyPath, source); err != nil {
			return err
		}
		defer zeroIdentity(id)
	}

	h, err := crypt4gh.ReadHeader(in.f)
	if err != nil {
		return err
	}
	rep := &inspectReport{Version: h.Version, HeaderSize: h.Size(), PQExposed: classicalPackets(h),
		Packets: []packetInfo{}, Signatures: []signatureInfo{}}
	for _, p := range h.Packets {
		rep.Packets = append(rep.Packets, packetInfo{Method: p.Method, MethodName: packetMethodName(p.Method),
			PostQuantum: crypt4gh.IsPostQuantumMethod(p.Method), Size: 8 + len(p.Payload)})
	}
	for _, s := range h.Signatures {
		rep.Signatures = append(rep.Signatures, signatureInfo{Algorithm: s.Algorithm,
			AlgorithmName: signatureAlgorithmName(s.Algorithm), KeyID: hex.EncodeToString(s.KeyID[:])})
	}
	if in.regular {
		size := in.size - int64(h.Size())
		segs := (size + crypt4gh.CipherSegmentSize - 1) / crypt4gh.CipherSegmentSize
		rep.PayloadSize, rep.Segments = &size, &segs
	}
	if id != nil {
		c, err := h.Decrypt(id)
		if err != nil {
			return (&decryptHints{keyPath: keyPath}).add(withHint(err, "inspect without --sk shows the public part of the header"))
		}
		defer c.Zero()
		ci := &contentInfo{Opened: c.Opened, DataMethod: c.DataKeys[0].Method, DataMethodName: dataMethodName(c.DataKeys[0].Method),
			EditList: c.EditList, Expired: c.CheckExpiry(a.clock()) != nil}
		if ci.Opened == nil {
			ci.Opened = []int{}
		}
		if !c.Expiry.IsZero() {
			t := c.Expiry.UTC()
			ci.Expiry = &t
		}
		if c.Link != "" {
			ci.Link = &c.Link
		}
		if m := c.SegmentMap; m != nil {
			ci.SegmentMap = &segmentMap{Total: m.Total, Runs: [][2]int64{}}
			for _, r := range m.Runs {
				ci.SegmentMap.Runs = append(ci.SegmentMap.Runs, [2]int64{r.First, r.Count})
			}
		}
		if rep.PayloadSize != nil {
			plain := *rep.PayloadSize - *rep.Segments*(crypt4gh.CipherSegmentSize-crypt4gh.SegmentSize)
			if plain >= 0 {
				if c.EditList != nil {
					plain = c.EditList.PlaintextSize(plain)
				}
				ci.PlaintextSize = &plain
			}
		}
		rep.Content = ci
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeText(a.stdout)
}

// writeText prints the report as "key: value" lines, in a fixed order.
func (r *inspectReport) writeText(w io.Writer) error {
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s: %v\n", k, v) }
	yesNo := map[bool]string{true: "yes", false: "no"}
	line("version", r.Version)
	line("header_size", r.HeaderSize)
	line("packets", len(r.Packets))
	for i, p := range r.Packets {
		kind := "classical"
		if p.PostQuantum {
			kind = "post-quantum"
		}
		if p.MethodName == "unknown" {
			kind = "unknown method " + strconv.FormatUint(uint64(p.Method), 10)
		}
		line(fmt.Sprintf("packet.%d", i), fmt.Sprintf("%s (%s) %d bytes", p.MethodName, kind, p.Size))
	}
	line("pq_exposed", yesNo[r.PQExposed])
	line("signatures", len(r.Signatures))
	for i, s := range r.Signatures {
		line(fmt.Sprintf("signature.%d", i), fmt.Sprintf("%s %s", s.AlgorithmName, s.KeyID))
	}
	if r.PayloadSize != nil {
		line("payload_size", *r.PayloadSize)
		line("segments", *r.Segments)
	}
	if c := r.Content; c != nil {
		opened := make([]string, len(c.Opened))
		for i, o := range c.Opened {
			opened[i] = strconv.Itoa(o)
		}
		line("opened", strings.Join(opened, " "))
		line("data_method", c.DataMethodName)
		line("edit_list", orNone(c.EditList != nil, func() string {
			if len(c.EditList) == 0 {
				return "empty"
			}
			s := make([]string, len(c.EditList))
			for i, l := range c.EditList {
				s[i] = strconv.FormatUint(l, 10)
			}
			return strings.Join(s, " ")
		}))
		line("expiry", orNone(c.Expiry != nil, func() string { return c.Expiry.Format(time.RFC3339) }))
		line("expired", yesNo[c.Expired])
		line("link", orNone(c.Link != nil, func() string { return *c.Link }))
		line("segment_map", orNone(c.SegmentMap != nil, func() string {
			s := []string{fmt.Sprintf("total %d:", c.SegmentMap.Total)}
			for _, r := range c.SegmentMap.Runs {
				s = append(s, fmt.Sprintf("%d-%d", r[0], r[0]+r[1]-1))
			}
			return strings.Join(s, " ")
		}))
		if c.PlaintextSize != nil {
			line("plaintext_size", *c.PlaintextSize)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(ok bool, f func() string) string {
	if !ok {
		return "none"
	}
	return f()
}
