package sim

import (
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// node is one simulated node.
type node struct {
	name  string
	ip    string
	index int
}

// nodePool is the cluster's nodes; pods are spread over them in turn.
type nodePool struct {
	nodes []node
	turn  atomic.Uint64
}

func newNodePool(n int) *nodePool {
	p := &nodePool{}
	for i := 1; i <= n; i++ {
		p.nodes = append(p.nodes, node{name: fmt.Sprintf("sim-node-%d", i), ip: fmt.Sprintf("10.0.0.%d", 10+i), index: i})
	}
	return p
}

func (p *nodePool) next() node {
	return p.nodes[(p.turn.Add(1)-1)%uint64(len(p.nodes))]
}

func (p *nodePool) byName(name string) (node, bool) {
	for _, n := range p.nodes {
		if n.name == name {
			return n, true
		}
	}
	return node{}, false
}

// object is the Node object of n, Ready, as its kubelet registers it.
func (n node) object(now time.Time) *corev1.Node {
	t := metav1.NewTime(now)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods:   resource.MustParse("1000"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.name,
			Labels: map[string]string{"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "sim"},
		},
		Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.%d.0.0/16", 100+n.index), PodCIDRs: []string{fmt.Sprintf("10.%d.0.0/16", 100+n.index)}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", LastHeartbeatTime: t, LastTransitionTime: t},
				{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", LastHeartbeatTime: t, LastTransitionTime: t},
			},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.ip}, {Type: corev1.NodeHostName, Address: n.name}},
			NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: serverVersion.GitVersion, ContainerRuntimeVersion: "containerd://2.1.0", OperatingSystem: "linux", Architecture: "amd64", OSImage: "roost demo"},
		},
	}
}
