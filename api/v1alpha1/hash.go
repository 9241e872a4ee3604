package v1alpha1

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// PodTemplateHash is the hash Argo Rollouts puts in ReplicaSet names and in the
// rollouts-pod-template-hash label: fnv32a over the template's JSON, then the
// collision count as 8 little-endian bytes when set, safe-encoded. Matching it
// lets a real Argo controller adopt roost's ReplicaSets, and the reverse.
func PodTemplateHash(template *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, err := json.Marshal(template)
	if err != nil {
		// A PodTemplateSpec always marshals; failing here is a programming error.
		panic(fmt.Sprintf("marshal pod template: %v", err))
	}
	h.Write(b)
	if collisionCount != nil {
		cc := make([]byte, 8)
		binary.LittleEndian.PutUint32(cc, uint32(*collisionCount))
		h.Write(cc)
	}
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// StepHash is status.currentStepHash: fnv32a over the JSON of the canary steps,
// safe-encoded. A change of steps restarts the step sequence.
func StepHash(steps []CanaryStep) string {
	h := fnv.New32a()
	b, err := json.Marshal(steps)
	if err != nil {
		panic(fmt.Sprintf("marshal steps: %v", err))
	}
	h.Write(b)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}
