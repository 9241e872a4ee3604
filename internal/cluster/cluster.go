package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Fake-node constants: kwok manages only nodes carrying the annotation, and
// the taint keeps pods that do not tolerate simulated kubelets off them.
const (
	KwokAnnotation = "kwok.x-k8s.io/node"
	KwokTaintKey   = "kwok.x-k8s.io/node"
	KwokValue      = "fake"
	FakeNodeName   = "kwok-node-0"
	// FakeNodePods is the fake node's pod capacity, far above a kubelet's
	// 110 so scale tests never run out of room.
	FakeNodePods = 10000
)

// KwokToleration is the toleration a pod template needs to run on the fake
// node.
func KwokToleration() corev1.Toleration {
	return corev1.Toleration{Key: KwokTaintKey, Operator: corev1.TolerationOpEqual, Value: KwokValue, Effect: corev1.TaintEffectNoSchedule}
}

// Options configure Start.
type Options struct {
	Binaries Binaries
	// Dir holds certificates, data, logs and the kubeconfig. Empty means a
	// fresh temporary folder, removed by Stop.
	Dir string
	// KeepDir keeps a temporary Dir after Stop (for reading the logs of a
	// failed run).
	KeepDir bool
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Timeout bounds the whole start; zero means two minutes.
	Timeout time.Duration
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir is the cluster's folder; Kubeconfig the admin kubeconfig in it.
	Dir        string
	Kubeconfig string

	cfg     *rest.Config
	client  kubernetes.Interface
	pki     *pki
	tempDir bool
	keepDir bool
	log     io.Writer

	etcd, apiserver, controllerManager, scheduler, kwok *process

	stopOnce sync.Once
	stopErr  error
}

// Start runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok on loopback with freshly chosen ports and certificates, waits
// until the API is ready, the default ServiceAccount exists and the fake
// node is Ready, and writes an admin kubeconfig. On error nothing is left
// running.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if err := opts.Binaries.missing(); err != nil {
		return nil, fmt.Errorf("%w; call EnsureBinaries first", err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c := &Cluster{Dir: opts.Dir, keepDir: opts.KeepDir, log: opts.Log}
	if c.log == nil {
		c.log = io.Discard
	}
	if c.Dir == "" {
		removeStaleDirs(c.log)
		c.Dir, err = os.MkdirTemp("", tempDirPrefix)
		if err != nil {
			return nil, fmt.Errorf("cluster: create temporary folder: %w", err)
		}
		c.tempDir = true
		if err := os.WriteFile(filepath.Join(c.Dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return nil, fmt.Errorf("cluster: write owner of %s: %w", c.Dir, err)
		}
	}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	for _, d := range []string{"pki", "etcd", "logs", "apiserver-certs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("cluster: create %s: %w", d, err)
		}
	}
	began := time.Now()
	c.pki, err = writePKI(filepath.Join(c.Dir, "pki"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.cfg = &rest.Config{
		Host:            host,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.CAPEM, CertData: c.pki.AdminCertPEM, KeyData: c.pki.AdminKeyPEM},
		QPS:             200,
		Burst:           400,
	}
	// The typed client speaks protobuf, as roost's does.
	typed := rest.CopyConfig(c.cfg)
	typed.ContentType = runtime.ContentTypeProtobuf
	typed.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c.client, err = kubernetes.NewForConfig(typed)
	if err != nil {
		return nil, fmt.Errorf("cluster: build client: %w", err)
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, host, c.pki); err != nil {
		return nil, err
	}
	// The components get their own kubeconfig copy with the same admin
	// identity; tests may rewrite the public one.
	componentKubeconfig := filepath.Join(c.Dir, "pki", "components.kubeconfig")
	if err := writeKubeconfig(componentKubeconfig, host, c.pki); err != nil {
		return nil, err
	}

	b := opts.Binaries
	logPath := func(name string) string { return filepath.Join(c.Dir, "logs", name+".log") }
	c.etcd = &process{name: "etcd", path: b.Etcd, log: logPath("etcd"), args: []string{
		"--name=roost",
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--advertise-client-urls=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--listen-peer-urls=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		"--initial-advertise-peer-urls=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		"--initial-cluster=roost=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		// Tests throw the data away; fsync only costs time on shared disks.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}}
	c.apiserver = &process{name: "kube-apiserver", path: b.APIServer, log: logPath("kube-apiserver"), args: []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
		"--tls-cert-file=" + c.pki.ServingCert,
		"--tls-private-key-file=" + c.pki.ServingKey,
		"--client-ca-file=" + c.pki.CACert,
		"--service-account-key-file=" + c.pki.SAPublic,
		"--service-account-signing-key-file=" + c.pki.SAPrivate,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		// No kubelets register the apiserver's own endpoints; the
		// reconciler would only fight over a loopback address.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}}
	c.controllerManager = &process{name: "kube-controller-manager", path: b.ControllerManager, log: logPath("kube-controller-manager"), args: []string{
		"--kubeconfig=" + componentKubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials",
		"--service-account-private-key-file=" + c.pki.SAPrivate,
		"--root-ca-file=" + c.pki.CACert,
		// No real network: node CIDRs are set on the fake node directly.
		// (Kubernetes 1.37 knows no cloud controllers here any more; naming
		// an unknown controller is a fatal error.)
		"--controllers=*,-node-ipam-controller",
		// Scale tests create thousands of pods through the ReplicaSet
		// controller; the default 20 QPS would make it the bottleneck.
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
		"--concurrent-replicaset-syncs=10",
	}}
	c.scheduler = &process{name: "kube-scheduler", path: b.Scheduler, log: logPath("kube-scheduler"), args: []string{
		"--kubeconfig=" + componentKubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
	}}
	c.kwok = &process{name: "kwok", path: b.Kwok, log: logPath("kwok"), args: []string{
		"--kubeconfig=" + componentKubeconfig,
		"--config=" + b.KwokStages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokAnnotation + "=" + KwokValue,
		"--node-lease-duration-seconds=40",
		// Pod IPs come from here; kwok's default /24 runs out at 254 pods.
		"--cidr=10.64.0.0/12",
	}}

	fmt.Fprintf(c.log, "cluster: starting etcd and kube-apiserver on %s (folder %s)\n", host, c.Dir)
	for _, p := range []*process{c.etcd, c.apiserver} {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	if err := c.waitReady(ctx, c.etcd, c.apiserver); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.log, "cluster: API ready after %s; starting controller-manager, scheduler, kwok\n", time.Since(began).Round(10*time.Millisecond))
	for _, p := range []*process{c.controllerManager, c.scheduler, c.kwok} {
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	if err := c.createFakeNode(ctx); err != nil {
		return nil, err
	}
	if err := c.waitFor(ctx, "the default ServiceAccount (created by kube-controller-manager)", func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}); err != nil {
		return nil, err
	}
	if err := c.waitFor(ctx, "fake node "+FakeNodeName+" to be Ready (kwok)", func(ctx context.Context) (bool, error) {
		n, err := c.client.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	fmt.Fprintf(c.log, "cluster: ready after %s; KUBECONFIG=%s\n", time.Since(began).Round(10*time.Millisecond), c.Kubeconfig)
	return c, nil
}

func (c *Cluster) processes() []*process {
	var out []*process
	for _, p := range []*process{c.kwok, c.scheduler, c.controllerManager, c.apiserver, c.etcd} {
		if p != nil && p.pid() > 0 {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls cond every 100 ms until it holds, a component dies, or ctx
// ends; the error names what was awaited and includes the relevant logs.
func (c *Cluster) waitFor(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, p := range c.processes() {
			if err := p.running(); err != nil {
				return false, err
			}
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		msg := fmt.Sprintf("cluster: timed out waiting for %s", what)
		if last != nil {
			msg += fmt.Sprintf(" (last error: %v)", last)
		}
		return fmt.Errorf("%s; logs are in %s", msg, filepath.Join(c.Dir, "logs"))
	}
	return err
}

// waitReady waits for kube-apiserver's /readyz, watching procs for crashes.
func (c *Cluster) waitReady(ctx context.Context, procs ...*process) error {
	return c.waitFor(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		for _, p := range procs {
			if err := p.running(); err != nil {
				return false, err
			}
		}
		body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").Timeout(2 * time.Second).DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return strings.TrimSpace(string(body)) == "ok", nil
	})
}

func (c *Cluster) createFakeNode(ctx context.Context) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   *resource.NewQuantity(FakeNodePods, resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNodeName,
			Annotations: map[string]string{KwokAnnotation: KwokValue, "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": FakeNodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: KwokTaintKey, Value: KwokValue, Effect: corev1.TaintEffectNoSchedule}},
			// A /12 gives kwok room for a million pod IPs.
			PodCIDR:  "10.64.0.0/12",
			PodCIDRs: []string{"10.64.0.0/12"},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	return c.waitFor(ctx, "creating fake node "+FakeNodeName, func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return true, nil
		}
		return err == nil, err
	})
}

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config {
	return rest.CopyConfig(c.cfg)
}

// Client returns an admin clientset, speaking protobuf.
func (c *Cluster) Client() kubernetes.Interface {
	return c.client
}

// PIDs maps component names to process ids, for tests and measurements.
func (c *Cluster) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range c.processes() {
		out[p.name] = p.pid()
	}
	return out
}

// RSS maps component names to their resident memory in bytes.
func (c *Cluster) RSS() map[string]int64 {
	out := map[string]int64{}
	for name, pid := range c.PIDs() {
		if n, err := rssBytes(pid); err == nil {
			out[name] = n
		}
	}
	return out
}

// RestartAPIServer stops kube-apiserver (SIGTERM, SIGKILL after 3 s),
// starts it again on the same port and waits for /readyz. Clients see their
// connections and watches drop, as in a rolling upgrade of a real control
// plane.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	began := time.Now()
	how, err := c.stopAPIServer()
	if err != nil {
		return err
	}
	stopped := time.Since(began)
	if err := c.StartAPIServer(ctx); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "cluster: kube-apiserver %s in %s, ready again %s later\n",
		how, stopped.Round(10*time.Millisecond), (time.Since(began) - stopped).Round(10*time.Millisecond))
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, SIGKILL after 3 s) and leaves
// it stopped: clients are refused, as by a cluster that is down, until
// StartAPIServer. The other components keep running and reconnect then.
func (c *Cluster) StopAPIServer() error {
	how, err := c.stopAPIServer()
	if err == nil {
		fmt.Fprintf(c.log, "cluster: kube-apiserver %s\n", how)
	}
	return err
}

func (c *Cluster) stopAPIServer() (how string, err error) {
	// kube-apiserver stops listening within milliseconds of SIGTERM, then
	// lingers ~15 s while the other components' watches stay open; clients
	// see the same outage either way, so do not wait for it.
	stragglers, err := stopAll([]*process{c.apiserver}, 3*time.Second)
	if err != nil {
		return "", err
	}
	if len(stragglers) > 0 {
		return "killed after ignoring SIGTERM", nil
	}
	return "stopped", nil
}

// StartAPIServer starts a stopped kube-apiserver again on its port and
// waits (up to a minute) for /readyz.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if err := c.apiserver.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return c.waitReady(ctx, c.apiserver)
}

// Keep makes Stop leave a temporary Dir in place, e.g. to read the
// components' logs after a failed test run.
func (c *Cluster) Keep() {
	c.keepDir = true
}

// Stop terminates the cluster and removes a temporary Dir; safe to call more
// than once. The clients of etcd go first (SIGTERM to all at once, SIGKILL
// after 10 s), then etcd: etcd shuts down gracefully only once its clients
// have closed their connections, so signalling everything together costs
// seconds. Stragglers are reported on the log; Stop fails only when a process
// survives SIGKILL or the folder cannot be removed.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var clients, store []*process
		for _, p := range c.processes() {
			if p == c.etcd {
				store = append(store, p)
			} else {
				clients = append(clients, p)
			}
		}
		for _, group := range [][]*process{clients, store} {
			stragglers, err := stopAll(group, 10*time.Second)
			if len(stragglers) > 0 {
				fmt.Fprintf(c.log, "cluster: %s ignored SIGTERM for 10s and were killed\n", strings.Join(stragglers, ", "))
			}
			c.stopErr = errors.Join(c.stopErr, err)
		}
		switch {
		case c.tempDir && !c.keepDir:
			if err := os.RemoveAll(c.Dir); err != nil {
				c.stopErr = errors.Join(c.stopErr, fmt.Errorf("cluster: remove %s: %w", c.Dir, err))
			}
		case c.tempDir:
			// Without an owner the folder is not taken for a killed run's.
			_ = os.Remove(filepath.Join(c.Dir, ownerFile))
		}
	})
	return c.stopErr
}

const (
	tempDirPrefix = "roost-cluster-"
	// ownerFile holds the pid of the process running a temporary cluster.
	ownerFile = "owner.pid"
)

// removeStaleDirs removes the temporary folders of clusters whose owner was
// killed (SIGKILL, OOM, a CI timeout) before it could clean up; their
// components died with it, by parent-death signal, but the folders stay.
func removeStaleDirs(log io.Writer) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue // still running (or not ours to judge)
		}
		if os.RemoveAll(d) == nil {
			fmt.Fprintf(log, "cluster: removed %s, left by killed process %d\n", d, pid)
		}
	}
}

// freePorts asks the kernel for n distinct free loopback ports. They are
// released before the components bind them; another process could take
// one in between, which start-up then reports as a crash with its log.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: find a free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeKubeconfig(path, host string, p *pki) error {
	b64 := base64.StdEncoding.EncodeToString
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: roost-local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: roost-local
  context:
    cluster: roost-local
    user: admin
    namespace: default
current-context: roost-local
`, host, b64(p.CAPEM), b64(p.AdminCertPEM), b64(p.AdminKeyPEM))
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		return fmt.Errorf("cluster: write kubeconfig %s: %w", path, err)
	}
	return nil
}
