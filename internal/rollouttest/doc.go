// Package rollouttest builds the Rollouts roost's tests start from: a valid
// basic canary that each test changes only where it matters, so that a new
// required field is added in one place instead of in every package's copy.
package rollouttest
