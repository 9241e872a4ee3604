// Command roost is a terminal cockpit for live canary releases on Kubernetes.
package main

func main() {}
