package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Versions pins the components of the control plane. Kubernetes must stay
// within one minor of the project's client-go (v0.37.x).
type Versions struct {
	Kubernetes string
	Etcd       string
	Kwok       string
}

// DefaultVersions is the pinned control plane: Kubernetes matches client-go
// v0.37.2, etcd 3.6 has the watch features newer clients ask for (Debian's
// 3.4 makes kwok's pods take seconds instead of milliseconds to become Ready).
var DefaultVersions = Versions{
	Kubernetes: "v1.37.2",
	Etcd:       "v3.6.16",
	Kwok:       "v0.8.0",
}

// Binaries are the paths of a built control plane.
type Binaries struct {
	Dir               string
	Versions          Versions
	Etcd              string
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kwok              string
	// KwokStages is kwok's "fast" stage configuration: nodes become Ready,
	// pods become Running and Ready almost at once, deleted pods go away.
	KwokStages string
}

// kwokStageFiles are the stage files shipped in kwok's module, relative to
// the module root, that make nodes and pods behave like fast kubelets.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// CacheDir returns the folder holding the binaries for v and the running Go
// version: ${XDG_CACHE_HOME:-$HOME/.cache}/roost/cluster/<key>. The Go version
// is part of the key because a new toolchain should rebuild (and to keep the
// binaries' security fixes in step with the toolchain).
func CacheDir(ctx context.Context, v Versions) (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cluster: cannot find a cache folder: set XDG_CACHE_HOME or HOME: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	goVersion, err := goOutput(ctx, "", "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("k8s-%s_etcd-%s_kwok-%s_%s_%s-%s",
		v.Kubernetes, v.Etcd, v.Kwok, strings.TrimSpace(goVersion), runtime.GOOS, runtime.GOARCH)
	return filepath.Join(base, "roost", "cluster", key), nil
}

// EnsureBinaries returns the control plane binaries for DefaultVersions,
// building the missing ones first. A warm cache builds nothing.
func EnsureBinaries(ctx context.Context, log io.Writer) (Binaries, error) {
	return EnsureBinariesFor(ctx, DefaultVersions, log)
}

// EnsureBinariesFor is EnsureBinaries for explicit versions. Progress goes to
// log; builds never prompt, so they run unattended in CI. Concurrent callers
// (two test binaries, `make cluster` next to `make e2e`) serialise on a lock
// file so each component is built once.
func EnsureBinariesFor(ctx context.Context, v Versions, log io.Writer) (Binaries, error) {
	if log == nil {
		log = io.Discard
	}
	root, err := CacheDir(ctx, v)
	if err != nil {
		return Binaries{}, err
	}
	bin := filepath.Join(root, "bin")
	b := Binaries{
		Dir:               bin,
		Versions:          v,
		Etcd:              filepath.Join(bin, "etcd"),
		APIServer:         filepath.Join(bin, "kube-apiserver"),
		ControllerManager: filepath.Join(bin, "kube-controller-manager"),
		Scheduler:         filepath.Join(bin, "kube-scheduler"),
		Kwok:              filepath.Join(bin, "kwok"),
		KwokStages:        filepath.Join(bin, "kwok-stages.yaml"),
	}
	if b.missing() == nil {
		return b, nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("cluster: create cache folder: %w", err)
	}
	unlock, err := lockFile(filepath.Join(root, ".lock"), log)
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()

	fmt.Fprintf(log, "cluster: building the control plane into %s (first run only; takes several minutes)\n", bin)
	steps := []struct {
		path  string
		build func() error
	}{
		{b.Etcd, func() error { return buildEtcd(ctx, root, v, b.Etcd, log) }},
		{b.Kwok, func() error { return buildKwok(ctx, root, v, b.Kwok, log) }},
		{b.KwokStages, func() error { return writeKwokStages(ctx, v, b.KwokStages) }},
		{b.APIServer, func() error { return buildKube(ctx, root, v, "kube-apiserver", b.APIServer, log) }},
		{b.ControllerManager, func() error { return buildKube(ctx, root, v, "kube-controller-manager", b.ControllerManager, log) }},
		{b.Scheduler, func() error { return buildKube(ctx, root, v, "kube-scheduler", b.Scheduler, log) }},
	}
	for _, s := range steps {
		if fileExists(s.path) {
			continue
		}
		start := time.Now()
		if err := s.build(); err != nil {
			return Binaries{}, err
		}
		fmt.Fprintf(log, "cluster: built %s in %s\n", filepath.Base(s.path), time.Since(start).Round(100*time.Millisecond))
	}
	if err := b.missing(); err != nil {
		return Binaries{}, err
	}
	return b, nil
}

func (b Binaries) missing() error {
	for _, p := range []string{b.Etcd, b.APIServer, b.ControllerManager, b.Scheduler, b.Kwok, b.KwokStages} {
		if !fileExists(p) {
			return fmt.Errorf("cluster: %s is missing", p)
		}
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// lockFile takes an exclusive flock on path, telling the user when it has to
// wait for another process's build.
func lockFile(path string, log io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cluster: open build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(log, "cluster: waiting for another process building into the same cache (%s)\n", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("cluster: take build lock %s: %w", path, err)
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// goEnv is the environment of every go command run here: no workspace of the
// caller leaks in, no cgo (static binaries, no C toolchain needed), no
// toolchain switch (that would download and could prompt in odd setups).
func goEnv(extra ...string) []string {
	env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GO111MODULE=on", "GOFLAGS=-mod=mod -buildvcs=false")
	return append(env, extra...)
}

// runGo runs the go command in dir, printing a heartbeat every 30 s so a
// long build in CI is not mistaken for a hang, and returns an error carrying
// the tail of its output.
func runGo(ctx context.Context, dir, what string, log io.Writer, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	fmt.Fprintf(log, "cluster: %s: go %s\n", what, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: %s: cannot run go (is the Go toolchain on PATH?): %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("cluster: %s failed after %s: %w\n%s", what, time.Since(start).Round(time.Second), err, tail(out.String(), 40))
			}
			return nil
		case <-tick.C:
			fmt.Fprintf(log, "cluster: %s: still running (%s)\n", what, time.Since(start).Round(time.Second))
		}
	}
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cluster: go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 20))
	}
	return string(out), nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// downloadModule fetches mod@version into the module cache and returns what
// `go mod download -json` reports about it.
func downloadModule(ctx context.Context, mod, version string) (dir, goMod string, err error) {
	out, err := goOutput(ctx, os.TempDir(), "mod", "download", "-json", mod+"@"+version)
	if err != nil {
		return "", "", fmt.Errorf("cluster: the Go module proxy must serve %s@%s: %w", mod, version, err)
	}
	var info struct {
		Dir   string
		GoMod string
		Error string
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return "", "", fmt.Errorf("cluster: read go mod download output for %s@%s: %w", mod, version, err)
	}
	if info.Error != "" {
		return "", "", fmt.Errorf("cluster: download %s@%s: %s", mod, version, info.Error)
	}
	return info.Dir, info.GoMod, nil
}

// writeModule creates a throwaway module in dir with the given go.mod body
// and a tools.go importing pkgs, so `go mod tidy` resolves their whole graph.
func writeModule(dir, goMod string, pkgs []string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cluster: clean %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cluster: create %s: %w", dir, err)
	}
	var tools strings.Builder
	tools.WriteString("//go:build tools\n\n// Package tools pins the commands this throwaway module builds.\npackage tools\n\nimport (\n")
	for _, p := range pkgs {
		fmt.Fprintf(&tools, "\t_ %q\n", p)
	}
	tools.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		return fmt.Errorf("cluster: write go.mod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools.String()), 0o644); err != nil {
		return fmt.Errorf("cluster: write tools.go: %w", err)
	}
	return nil
}

// buildInto builds pkg to a temporary name next to out and renames it, so an
// interrupted build never leaves a half-written binary that looks warm.
func buildInto(ctx context.Context, dir, what, pkg, out, ldflags string, log io.Writer) error {
	tmp := out + ".partial"
	args := []string{"build", "-trimpath", "-o", tmp}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	args = append(args, pkg)
	if err := runGo(ctx, dir, "build "+what, log, goEnv(), args...); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("cluster: install %s: %w", out, err)
	}
	return nil
}

var etcdModules = []string{
	"go.etcd.io/etcd/api/v3",
	"go.etcd.io/etcd/client/pkg/v3",
	"go.etcd.io/etcd/client/v3",
	"go.etcd.io/etcd/pkg/v3",
	"go.etcd.io/etcd/server/v3",
}

// buildEtcd builds etcd through a throwaway module: `go install` of etcd's
// server fails because its go.mod has replace directives.
func buildEtcd(ctx context.Context, root string, v Versions, out string, log io.Writer) error {
	dir := filepath.Join(root, "build", "etcd")
	var mod strings.Builder
	mod.WriteString("module roost.local/etcdbuild\n\ngo 1.24\n\nrequire (\n")
	for _, m := range etcdModules {
		fmt.Fprintf(&mod, "\t%s %s\n", m, v.Etcd)
	}
	mod.WriteString(")\n")
	if err := writeModule(dir, mod.String(), []string{"go.etcd.io/etcd/server/v3"}); err != nil {
		return err
	}
	if err := runGo(ctx, dir, "resolve etcd "+v.Etcd, log, goEnv(), "mod", "tidy"); err != nil {
		return err
	}
	return buildInto(ctx, dir, "etcd "+v.Etcd, "go.etcd.io/etcd/server/v3", out, "-s -w", log)
}

// buildKwok installs kwok straight from its module; it has no replace
// directives, so `go install mod@version` works.
func buildKwok(ctx context.Context, root string, v Versions, out string, log io.Writer) error {
	gobin := filepath.Join(root, "build", "kwok-bin")
	if err := os.MkdirAll(gobin, 0o755); err != nil {
		return fmt.Errorf("cluster: create %s: %w", gobin, err)
	}
	env := goEnv("GOBIN=" + gobin)
	if err := runGo(ctx, os.TempDir(), "build kwok "+v.Kwok, log, env,
		"install", "-trimpath", "-ldflags", "-s -w", "sigs.k8s.io/kwok/cmd/kwok@"+v.Kwok); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(gobin, "kwok"), out); err != nil {
		return fmt.Errorf("cluster: install kwok into %s: %w", out, err)
	}
	return nil
}

// writeKwokStages joins kwok's shipped "fast" stage files into one config.
func writeKwokStages(ctx context.Context, v Versions, out string) error {
	dir, _, err := downloadModule(ctx, "sigs.k8s.io/kwok", v.Kwok)
	if err != nil {
		return err
	}
	var docs []string
	for _, f := range kwokStageFiles {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return fmt.Errorf("cluster: kwok %s no longer ships stage file %s: %w", v.Kwok, f, err)
		}
		docs = append(docs, strings.TrimSpace(strings.TrimPrefix(string(data), "---")))
	}
	if err := os.WriteFile(out, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("cluster: write %s: %w", out, err)
	}
	return nil
}

// stagingReplace matches kubernetes' own `k8s.io/x => ./staging/src/k8s.io/x`
// lines; each becomes a replace with the published v0.Y.Z of that module.
var stagingReplace = regexp.MustCompile(`^\s*(?:replace\s+)?(k8s\.io/[A-Za-z0-9._/-]+)\s+=>\s+\./staging/`)

// kubeModule prepares (once) the throwaway module that builds the
// Kubernetes commands: it requires k8s.io/kubernetes and replaces every
// staging module with the published version, since k8s.io/kubernetes itself
// refers to them as v0.0.0 and cannot be installed directly.
func kubeModule(ctx context.Context, root string, v Versions, log io.Writer) (string, error) {
	dir := filepath.Join(root, "build", "kubernetes")
	if fileExists(filepath.Join(dir, "go.sum")) && fileExists(filepath.Join(dir, ".tidy")) {
		return dir, nil
	}
	_, goModPath, err := downloadModule(ctx, "k8s.io/kubernetes", v.Kubernetes)
	if err != nil {
		return "", err
	}
	upstream, err := os.ReadFile(goModPath)
	if err != nil {
		return "", fmt.Errorf("cluster: read k8s.io/kubernetes go.mod: %w", err)
	}
	// Staging modules are published as v0.MINOR.PATCH for Kubernetes v1.MINOR.PATCH.
	staging := "v0." + strings.TrimPrefix(strings.TrimPrefix(v.Kubernetes, "v"), "1.")
	var mod strings.Builder
	fmt.Fprintf(&mod, "module roost.local/kubebuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", v.Kubernetes)
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(upstream))
	for sc.Scan() {
		if m := stagingReplace.FindStringSubmatch(sc.Text()); m != nil {
			fmt.Fprintf(&mod, "\t%s => %s %s\n", m[1], m[1], staging)
			n++
		}
	}
	mod.WriteString(")\n")
	if n == 0 {
		return "", fmt.Errorf("cluster: k8s.io/kubernetes %s go.mod has no staging replace lines; this build recipe no longer fits that version", v.Kubernetes)
	}
	pkgs := []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler"}
	if err := writeModule(dir, mod.String(), pkgs); err != nil {
		return "", err
	}
	if err := runGo(ctx, dir, "resolve kubernetes "+v.Kubernetes, log, goEnv(), "mod", "tidy"); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ".tidy"), nil, 0o644); err != nil {
		return "", fmt.Errorf("cluster: mark %s tidy: %w", dir, err)
	}
	return dir, nil
}

// kubeLDFlags stamps the version, or the server reports v0.0.0 and clients
// that check the server version misbehave.
func kubeLDFlags(version string) (string, error) {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("cluster: Kubernetes version %q is not vMAJOR.MINOR.PATCH", version)
	}
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+version,
			"-X", pkg+".gitMajor="+parts[0],
			"-X", pkg+".gitMinor="+parts[1],
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	return strings.Join(flags, " "), nil
}

func buildKube(ctx context.Context, root string, v Versions, name, out string, log io.Writer) error {
	dir, err := kubeModule(ctx, root, v, log)
	if err != nil {
		return err
	}
	ldflags, err := kubeLDFlags(v.Kubernetes)
	if err != nil {
		return err
	}
	return buildInto(ctx, dir, name+" "+v.Kubernetes, "k8s.io/kubernetes/cmd/"+name, out, ldflags, log)
}
