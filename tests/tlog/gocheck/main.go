// gocheck verifies yishi's log files with Go's reference code, golang.org/x/mod/sumdb
// (note and tlog), as an independent second implementation.
//
//	gocheck checkpoint VKEYFILE NOTEFILE
//	gocheck inclusion VKEYFILE TLOGPROOFFILE LEAFDATAFILE
//	gocheck consistency VKEYFILE OLDNOTE NEWNOTE PROOFFILE (one base64 hash per line)
//
// It prints OK and exits 0, or prints the error and exits 1.
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type tree struct {
	size int64
	hash tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

func read(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		fail("read %s: %v", path, err)
	}
	return string(data)
}

func hash(text string) tlog.Hash {
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		fail("bad hash %q", text)
	}
	var h tlog.Hash
	copy(h[:], raw)
	return h
}

func open(vkey string, text string) tree {
	verifier, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		fail("verifier key: %v", err)
	}
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint body: %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	return tree{size, hash(lines[2])}
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: gocheck checkpoint|inclusion|consistency VKEY FILES...")
	}
	vkey := read(os.Args[2])
	switch os.Args[1] {
	case "checkpoint":
		t := open(vkey, read(os.Args[3]))
		fmt.Printf("OK: checkpoint size %d\n", t.size)
	case "inclusion":
		head, checkpoint, found := strings.Cut(read(os.Args[3]), "\n\n")
		if !found {
			fail("tlog-proof: no blank line")
		}
		t := open(vkey, checkpoint)
		lines := strings.Split(head, "\n")
		if lines[0] != "c2sp.org/tlog-proof@v1" {
			fail("tlog-proof: bad header")
		}
		at := 1
		if strings.HasPrefix(lines[at], "extra ") {
			at++
		}
		index, err := strconv.ParseInt(strings.TrimPrefix(lines[at], "index "), 10, 64)
		if err != nil {
			fail("tlog-proof: index: %v", err)
		}
		var proof tlog.RecordProof
		for _, line := range lines[at+1:] {
			proof = append(proof, hash(line))
		}
		leaf := tlog.RecordHash([]byte(read(os.Args[4])))
		if err := tlog.CheckRecord(proof, t.size, t.hash, index, leaf); err != nil {
			fail("inclusion: %v", err)
		}
		fmt.Printf("OK: leaf %d is in the tree of size %d\n", index, t.size)
	case "consistency":
		old := open(vkey, read(os.Args[3]))
		cur := open(vkey, read(os.Args[4]))
		var proof tlog.TreeProof
		for _, line := range strings.Fields(read(os.Args[5])) {
			proof = append(proof, hash(line))
		}
		if err := tlog.CheckTree(proof, cur.size, cur.hash, old.size, old.hash); err != nil {
			fail("consistency: %v", err)
		}
		fmt.Printf("OK: size %d is a prefix of size %d\n", old.size, cur.size)
	default:
		fail("unknown command %s", os.Args[1])
	}
}
