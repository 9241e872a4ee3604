// Package kubetest holds what roost's unit tests add to client-go's fake
// clientsets to make them answer as a real API server would.
package kubetest
