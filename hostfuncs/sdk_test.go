package hostfuncs

import (
	"testing"

	"github.com/dnahost/dnahost/guest-sdk/dna"
	"github.com/dnahost/dnahost/kernels"
)

// The guest SDK (a separate, standard-library-only module) spells the ABI
// out again from the guest's side; these must never drift apart.
func TestGuestSDKAgrees(t *testing.T) {
	codes := map[Code]dna.Code{
		CodeInvalid: dna.CodeInvalid, CodeHandle: dna.CodeHandle, CodePointer: dna.CodePointer,
		CodeShape: dna.CodeShape, CodeQuota: dna.CodeQuota, CodeNotFound: dna.CodeNotFound,
		CodeDType: dna.CodeDType, CodeReadOnly: dna.CodeReadOnly, CodeRange: dna.CodeRange,
		CodeInternal: dna.CodeInternal, CodeGuest: dna.CodeGuest,
	}
	for h, g := range codes {
		if int32(h) != int32(g) || h.String() != g.String() {
			t.Errorf("code %d (%s) is %d (%s) in the SDK", h, h, g, g)
		}
	}
	if int(kernels.F32) != int(dna.F32) || int(kernels.Q8_0) != int(dna.Q8_0) || int(kernels.U8) != int(dna.U8) {
		t.Error("dtypes differ")
	}
	if ABIVersion != dna.ABIVersion || ExecRecordSize != dna.RecordSize {
		t.Error("ABI version or exec record size differ")
	}
	for name, op := range dna.Opcodes() {
		if execOpcodes[name] != op {
			t.Errorf("SDK opcode of %s is %d, host's %d", name, op, execOpcodes[name])
		}
	}
}
