// Package integrity makes genomic data verifiable for a century: long-term
// integrity proofs after Buchmann, Geihs, Hamacher, Katzenbeisser and
// Stammler, "Long-term integrity protection of genomic data" (EURASIP J.
// Inf. Security 2019:16). doc/integrity.md is the full description.
//
// A variant file is a [Table] with one entry per reference base (empty
// where there is no variant); any other file is a table of fixed-size
// chunks. [Protect] commits to every entry with a statistically hiding
// commitment (package integrity/commit), builds an ordered Merkle tree
// over the commitments, has the lab sign its root and a time-stamping
// authority (package integrity/tsa) timestamp it, and writes a dataset
// directory holding the public commitments and, encrypted with Crypt4GH
// for the data owner, the keys from which the openings derive.
//
// As algorithms age, [Update] renews the protection: [OpTimestamp] (upT)
// adds a timestamp, [OpRehash] (upHT) a tree with a new hash, and
// [OpRecommit] (upCHT) new commitments; each new tree is bound node by
// node to the one before, and each timestamp covers the whole evidence
// before it.
//
// [PartialProof] extracts a [Proof] for some positions that reveals
// nothing about the others, and [Verify] checks it against a [Policy]
// giving each algorithm's validity period, trusted lab keys and TSA roots.
// Every failure wraps a sentinel error naming the failed check:
// [ErrMalformedProof], [ErrSignature], [ErrTimestamp], [ErrExpired] (as an
// [*ExpiredError]), [ErrUntrusted], [ErrOpening], [ErrPath], [ErrRoot] or
// [ErrNotRequested].
//
// The proof format ([Proof.MarshalBinary], [DecodeProof]) is versioned,
// deterministic and size-capped before allocation; [Proof.MarshalJSON]
// gives an inspectable form.
package integrity
