package watch

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestWaitDirtyPacesByFrame(t *testing.T) {
	fc := clocktesting.NewFakeClock(now)
	w := &Watcher{clock: fc, dirty: newDirtySet()}
	ctx := context.Background()

	w.dirty.add(key("shop", "a"), key("shop", "a"))
	ch, err := w.WaitDirty(ctx, FrameInterval)
	if err != nil || !reflect.DeepEqual(ch.Keys, []Key{key("shop", "a")}) {
		t.Fatalf("first delivery %v, %v; want [shop/a] at once", ch, err)
	}

	// Changes right after a delivery wait for the next frame, together.
	w.dirty.add(key("shop", "c"))
	done := make(chan Changes, 1)
	go func() {
		ch, _ := w.WaitDirty(ctx, FrameInterval)
		done <- ch
	}()
	waitFor(t, fc.HasWaiters)
	w.dirty.add(key("shop", "b"))
	select {
	case ch := <-done:
		t.Fatalf("delivered %v before the frame ended", ch)
	case <-time.After(20 * time.Millisecond):
	}
	fc.Step(FrameInterval)
	select {
	case ch := <-done:
		if want := []Key{key("shop", "b"), key("shop", "c")}; !reflect.DeepEqual(ch.Keys, want) {
			t.Errorf("frame delivered %v, want %v", ch.Keys, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered after the frame")
	}
}

func TestWaitDirtyCancelKeepsKeys(t *testing.T) {
	fc := clocktesting.NewFakeClock(now)
	w := &Watcher{clock: fc, dirty: newDirtySet()}
	w.dirty.take(fc.Now())
	w.dirty.add(key("shop", "a"))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := w.WaitDirty(ctx, FrameInterval)
		errc <- err
	}()
	waitFor(t, fc.HasWaiters)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitDirty after cancel: %v", err)
	}
	// The next reader still gets the key, without a new event.
	fc.Step(FrameInterval)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	ch, err := w.WaitDirty(ctx2, FrameInterval)
	if err != nil || !reflect.DeepEqual(ch.Keys, []Key{key("shop", "a")}) {
		t.Errorf("after a cancelled wait: %v, %v; want [shop/a]", ch, err)
	}
}

func TestWaitDirtyIgnoresEmptyWakes(t *testing.T) {
	w := &Watcher{clock: clocktesting.NewFakeClock(now), dirty: newDirtySet()}
	w.dirty.signal()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if ch, err := w.WaitDirty(ctx, 0); err == nil {
		t.Errorf("a wake with nothing dirty was delivered: %v", ch)
	}
	w.dirty.wakeHealth()
	ch, err := w.WaitDirty(context.Background(), 0)
	if err != nil || !ch.Health || ch.Keys != nil {
		t.Errorf("health wake: %+v, %v", ch, err)
	}
}
