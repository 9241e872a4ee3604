package cluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNamespacePrefix(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TestCanary", "testcanary-"},
		{"TestCanary/abort_mid-way", "testcanary-abort-mid-way-"},
		{"Test__X__", "test-x-"},
		{"///", "test-"},
		{strings.Repeat("a", 60), strings.Repeat("a", 40) + "-"},
		{"TestA" + strings.Repeat("/b", 30), "testa-b-b-b-b-b-b-b-b-b-b-b-b-b-b-b-b-b-"},
	}
	for _, tt := range tests {
		if got := namespacePrefix(tt.in); got != tt.want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// generateName adds 5 characters; a namespace name is at most 63.
		if len(namespacePrefix(tt.in))+5 > 63 {
			t.Errorf("namespacePrefix(%q) is too long for a namespace name", tt.in)
		}
	}
}

func TestKubeLDFlags(t *testing.T) {
	got, err := kubeLDFlags("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=v1.37.2",
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=37",
		"-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2",
		"-X k8s.io/client-go/pkg/version.gitMinor=37",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags %q lack %q", got, want)
		}
	}
	if _, err := kubeLDFlags("latest"); err == nil {
		t.Error("kubeLDFlags(latest) did not fail")
	}
}

func TestStagingReplace(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"\tk8s.io/api => ./staging/src/k8s.io/api", "k8s.io/api"},
		{"replace k8s.io/client-go => ./staging/src/k8s.io/client-go", "k8s.io/client-go"},
		{"\tk8s.io/kube-openapi v0.0.0-2024 // indirect", ""},
		{"\tgithub.com/x/y => github.com/x/z v1.0.0", ""},
	}
	for _, tt := range tests {
		m := stagingReplace.FindStringSubmatch(tt.line)
		got := ""
		if m != nil {
			got = m[1]
		}
		if got != tt.want {
			t.Errorf("line %q: module %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestPKI(t *testing.T) {
	p, err := writePKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	parse := func(path string) *x509.Certificate {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("%s holds no PEM block", path)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca := parse(p.CACert)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	serving := parse(p.ServingCert)
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "localhost", "kubernetes.default", "kubernetes.default.svc.cluster.local"} {
		if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
			t.Errorf("serving certificate not valid for %s: %v", host, err)
		}
	}
	admin := parse(p.AdminCert)
	if _, err := admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin certificate not a client certificate of the CA: %v", err)
	}
	if len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin certificate organisation = %v, want [system:masters]", admin.Subject.Organization)
	}
	for _, f := range []string{p.SAPublic, p.SAPrivate, p.ServingKey, p.AdminKey} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: not distinct positive ports", ports)
		}
		seen[p] = true
	}
}

// TestStopAllKillsStragglers: a component that ignores SIGTERM, and a child
// it forked, are both gone after stopAll.
func TestStopAllKillsStragglers(t *testing.T) {
	dir := t.TempDir()
	childPID := filepath.Join(dir, "child.pid")
	script := writeScript(t, dir, "stubborn", `trap '' TERM
sleep 300 &
echo $! > `+childPID+`
wait`)
	p := &process{name: "stubborn", path: script, log: filepath.Join(dir, "stubborn.log")}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 && time.Now().Before(deadline) {
		if data, err := os.ReadFile(childPID); err == nil && len(strings.TrimSpace(string(data))) > 0 {
			child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("stub never started its child")
	}
	stragglers, err := stopAll([]*process{p}, 300*time.Millisecond)
	if err != nil {
		t.Fatalf("stopAll: %v", err)
	}
	if len(stragglers) != 1 || stragglers[0] != "stubborn" {
		t.Errorf("stragglers = %v, want [stubborn]", stragglers)
	}
	if perr := p.running(); perr == nil {
		t.Error("process still running after stopAll")
	}
	// The child was in the same process group and got the SIGKILL too.
	deadline = time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if syscall.Kill(child, 0) == nil {
		t.Errorf("child pid %d of the component survived", child)
	}
}

// TestStartReportsCrash: when a component dies at start, Start returns an
// error naming it with its log, and stops the components it had started.
func TestStartReportsCrash(t *testing.T) {
	dir := t.TempDir()
	crash := writeScript(t, dir, "etcd", `sleep 1; echo "etcd: cannot bind: address in use" >&2; exit 3`)
	pids := filepath.Join(dir, "pids")
	idle := writeScript(t, dir, "idle", `echo $$ >> `+pids+`
exec sleep 300`)
	stages := filepath.Join(dir, "stages.yaml")
	if err := os.WriteFile(stages, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := Binaries{Etcd: crash, APIServer: idle, ControllerManager: idle, Scheduler: idle, Kwok: idle, KwokStages: stages}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{Binaries: b, Timeout: 20 * time.Second})
	if err == nil {
		c.Stop()
		t.Fatal("Start succeeded with a crashing etcd")
	}
	if !strings.Contains(err.Error(), "etcd exited") || !strings.Contains(err.Error(), "address in use") {
		t.Errorf("error %q does not name etcd and quote its log", err)
	}
	data, err := os.ReadFile(pids)
	if err != nil {
		t.Fatalf("kube-apiserver stub never ran: %v", err)
	}
	for _, line := range strings.Fields(string(data)) {
		if pid, _ := strconv.Atoi(line); pid > 0 && syscall.Kill(pid, 0) == nil {
			t.Errorf("component pid %d still running after Start failed", pid)
		}
	}
}

func TestStartNeedsBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), "EnsureBinaries") {
		t.Errorf("Start without binaries: err = %v, want advice to call EnsureBinaries", err)
	}
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRemoveStaleDirs: only folders whose owner process is gone are removed;
// a live owner's and a kept (ownerless) folder stay.
func TestRemoveStaleDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, owner int) string {
		d := filepath.Join(tmp, tempDirPrefix+name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if owner > 0 {
			if err := os.WriteFile(filepath.Join(d, ownerFile), []byte(strconv.Itoa(owner)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	killed := mk("killed", dead.Process.Pid)
	live := mk("live", os.Getpid())
	kept := mk("kept", 0)
	removeStaleDirs(io.Discard)
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("folder of a killed owner still there (stat: %v)", err)
	}
	for _, d := range []string{live, kept} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}
