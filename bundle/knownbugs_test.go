package bundle_test

import "testing"

// knownBugs are reported bugs in non-test code that tests here detect. A
// listed bug makes its test skip, so the suite stays green until it is
// fixed; once fixed, the test fails until the entry is deleted, and from
// then on it guards against the bug coming back.
var knownBugs = map[string]string{}

// checkBug reports the outcome of a check for bug id: present says whether
// the bug showed, detail what was seen.
func checkBug(t testing.TB, id string, present bool, detail string) {
	t.Helper()
	desc, listed := knownBugs[id]
	switch {
	case present && listed:
		t.Skipf("KNOWN BUG %s (%s): %s", id, desc, detail)
	case present:
		t.Fatal(detail)
	case listed:
		t.Fatalf("known bug %q no longer shows: delete it from knownBugs", id)
	}
}
