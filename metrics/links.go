package metrics

// Links out of the cockpit: the address of each metric's graph in Datadog's
// metrics explorer. Bugsnag's dashboard links come from metrics/bugsnag,
// which reads them from the project Bugsnag describes.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
)

// DatadogApp is the web app's address for the Datadog API at apiAddress
// (https://api.datadoghq.eu gives https://app.datadoghq.eu), or "" and why
// there is none: any other address (a proxy, a test server) has no app
// roost can name, and a wrong link is worse than none.
func DatadogApp(apiAddress string) (app, why string) {
	u, err := url.Parse(strings.TrimSpace(apiAddress))
	if err != nil || u.Host == "" {
		return "", fmt.Sprintf("no Datadog links: the Datadog address %q is not a URL", apiAddress)
	}
	if site, ok := SiteOfAddress(apiAddress); ok {
		return "https://" + siteApp(site), ""
	}
	return "", fmt.Sprintf("no Datadog links: roost reads Datadog through %s, which is not one of Datadog's sites, so the web app's address is unknown; "+
		"with datadog.site (or DD_SITE) set to your site instead of datadog.address, each metric links to Datadog's metrics explorer", u.Scheme+"://"+u.Host)
}

// ExplorerURL is the address of q's graph in Datadog's metrics explorer on
// app (from DatadogApp), over q's window: its queries as roost sends them,
// grouped by the role tag so that canary and stable are two lines of one
// graph, its formula scaled as roost shows it; "" without an app. The
// explorer keeps its graph in the fragment, as the JSON of a timeseries
// widget compressed with lz-string (compressToEncodedURIComponent), and its
// time frame in start and end (Unix milliseconds); paused=true fixes the
// frame instead of following the clock.
func ExplorerURL(app string, q MetricQuery) string {
	if app == "" || len(q.Queries) == 0 {
		return ""
	}
	type query struct {
		Name       string `json:"name"`
		DataSource string `json:"data_source"`
		Query      string `json:"query"`
	}
	type formula struct {
		Alias   string `json:"alias,omitempty"`
		Formula string `json:"formula"`
	}
	type style struct {
		Palette   string `json:"palette"`
		LineType  string `json:"line_type"`
		LineWidth string `json:"line_width"`
	}
	type request struct {
		ResponseFormat string    `json:"response_format"`
		Queries        []query   `json:"queries"`
		Formulas       []formula `json:"formulas"`
		Style          style     `json:"style"`
		DisplayType    string    `json:"display_type"`
	}
	type layout struct {
		X      int `json:"x"`
		Y      int `json:"y"`
		Width  int `json:"width"`
		Height int `json:"height"`
	}
	type definition struct {
		Type     string    `json:"type"`
		Requests []request `json:"requests"`
	}
	type widget struct {
		Layout     layout     `json:"layout"`
		Definition definition `json:"definition"`
	}
	type state struct {
		Widget      widget    `json:"widget"`
		SplitConfig *struct{} `json:"splitConfig"`
	}
	f := q.Formula
	if f == "" {
		f = q.Queries[0].Name
	}
	if q.Scale != 0 && q.Scale != 1 {
		f = "(" + f + ") * " + strconv.FormatFloat(q.Scale, 'g', -1, 64)
	}
	r := request{
		ResponseFormat: "timeseries",
		Formulas:       []formula{{Alias: q.Name, Formula: f}},
		Style:          style{Palette: "dog_classic", LineType: "solid", LineWidth: "normal"},
		DisplayType:    "line",
	}
	for _, nq := range q.Queries {
		r.Queries = append(r.Queries, query{Name: nq.Name, DataSource: "metrics", Query: nq.Query})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// The state is plain strings and numbers: it always encodes.
	_ = enc.Encode(state{Widget: widget{
		Layout:     layout{X: 1, Y: 1, Width: 1, Height: 1},
		Definition: definition{Type: "timeseries", Requests: []request{r}},
	}})
	return fmt.Sprintf("%s/metric/explorer?fromUser=false&start=%d&end=%d&paused=true#%s",
		app, q.From.UnixMilli(), q.To.UnixMilli(), lzCompressURI(strings.TrimSuffix(b.String(), "\n")))
}

// lzAlphabet is lz-string's alphabet for compressToEncodedURIComponent: its
// output needs no escaping in a URL.
const lzAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-$"

// lzCompressURI is lz-string's compressToEncodedURIComponent (LZW over the
// string's UTF-16 code units, written 6 bits a character), as the web app
// that reads it decompresses.
func lzCompressURI(s string) string {
	w := &lzWriter{bits: 6}
	units := utf16.Encode([]rune(s))
	key := func(us []uint16) string {
		b := make([]byte, 0, 2*len(us))
		for _, u := range us {
			b = append(b, byte(u>>8), byte(u))
		}
		return string(b)
	}
	dict := map[string]int{}
	toCreate := map[string]bool{}
	enlargeIn, dictSize, numBits := 2, 3, 2
	var cur []uint16
	emit := func(phrase []uint16) {
		k := key(phrase)
		if toCreate[k] {
			c := phrase[0]
			if c < 256 {
				w.write(0, numBits)
				w.write(int(c), 8)
			} else {
				w.write(1, numBits)
				w.write(int(c), 16)
			}
			enlargeIn--
			if enlargeIn == 0 {
				enlargeIn = 1 << numBits
				numBits++
			}
			delete(toCreate, k)
		} else {
			w.write(dict[k], numBits)
		}
		enlargeIn--
		if enlargeIn == 0 {
			enlargeIn = 1 << numBits
			numBits++
		}
	}
	for _, c := range units {
		ck := key([]uint16{c})
		if _, ok := dict[ck]; !ok {
			dict[ck] = dictSize
			dictSize++
			toCreate[ck] = true
		}
		next := append(append([]uint16(nil), cur...), c)
		if _, ok := dict[key(next)]; ok {
			cur = next
			continue
		}
		emit(cur)
		dict[key(next)] = dictSize
		dictSize++
		cur = []uint16{c}
	}
	if len(cur) > 0 {
		emit(cur)
	}
	w.write(2, numBits)
	return w.flush()
}

// lzWriter packs values, lowest bit first, into characters of bits bits,
// highest bit first, as lz-string does.
type lzWriter struct {
	bits, pos, val int
	out            strings.Builder
}

func (w *lzWriter) write(value, n int) {
	for range n {
		w.val = w.val<<1 | value&1
		value >>= 1
		w.push()
	}
}

func (w *lzWriter) push() {
	if w.pos == w.bits-1 {
		w.out.WriteByte(lzAlphabet[w.val])
		w.pos, w.val = 0, 0
		return
	}
	w.pos++
}

// flush pads the last character with zeros.
func (w *lzWriter) flush() string {
	for {
		w.val <<= 1
		if w.pos == w.bits-1 {
			w.out.WriteByte(lzAlphabet[w.val])
			return w.out.String()
		}
		w.pos++
	}
}
