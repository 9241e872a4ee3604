package sim

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// lockedRand is a random source safe for the loops' workers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand(seed uint64) *lockedRand {
	return &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// between is a uniform duration in [lo, hi].
func (l *lockedRand) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return lo + time.Duration(l.r.Int64N(int64(hi-lo)+1))
}

func (l *lockedRand) uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// nameAlphabet is the API server's alphabet for generated name suffixes: no
// vowels (no words), no 0, 1 or 3 (no look-alikes).
const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// suffix is a generateName suffix: 5 characters of nameAlphabet.
func (l *lockedRand) suffix() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := make([]byte, 5)
	for i := range b {
		b[i] = nameAlphabet[l.r.IntN(len(nameAlphabet))]
	}
	return string(b)
}

// uid is a random version-4 UUID.
func (l *lockedRand) uid() types.UID {
	hi, lo := l.uint64(), l.uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff))
}
