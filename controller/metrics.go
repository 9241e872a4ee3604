package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncMetrics counts and times syncs. A nil *syncMetrics records nothing, so the
// controller runs the same with or without a registry.
type syncMetrics struct {
	syncs    *prometheus.CounterVec
	duration prometheus.Histogram
}

func newSyncMetrics(reg prometheus.Registerer) (*syncMetrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &syncMetrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "roost",
			Subsystem: "controller",
			Name:      "syncs_total",
			Help:      "Rollout syncs by result (success or error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "roost",
			Subsystem: "controller",
			Name:      "sync_duration_seconds",
			Help:      "Time to sync one Rollout.",
			Buckets:   prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
	}
	var err error
	if m.syncs, err = register(reg, m.syncs); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or reuses the collector already registered under the
// same name (a second controller in one process, as in tests).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("controller: register metrics: %w", err)
	}
	return c, nil
}

func (m *syncMetrics) observe(err error, d time.Duration) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "error"
	}
	m.syncs.WithLabelValues(result).Inc()
	m.duration.Observe(d.Seconds())
}
