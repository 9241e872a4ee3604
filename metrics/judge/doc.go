// Package judge owns roost's verdict on a canary: each metric's canary
// series against its stable series (Pass, High, Low or NoData), and the score
// of the whole canary (Pass, Marginal, Fail or NoData). It follows Kayenta's
// method: a rank test that does not assume the values are normal, asking
// both whether the canary differs and by how much, plus a threshold on the
// latest values that can act on the first few points of a canary. Everything
// here is a pure function of the evidence.
package judge
