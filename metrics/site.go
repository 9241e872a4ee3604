package metrics

import (
	"net/url"
	"strings"
)

// datadogSites pairs each Datadog site, as DD_SITE names it, with its web
// app's host, as Datadog's documentation pairs them (app.datadoghq.eu:
// https://api.datadoghq.eu).
var datadogSites = []struct{ site, app string }{
	{"datadoghq.com", "app.datadoghq.com"},
	{"us3.datadoghq.com", "us3.datadoghq.com"},
	{"us5.datadoghq.com", "us5.datadoghq.com"},
	{"datadoghq.eu", "app.datadoghq.eu"},
	{"ap1.datadoghq.com", "ap1.datadoghq.com"},
	{"ap2.datadoghq.com", "ap2.datadoghq.com"},
	{"uk1.datadoghq.com", "uk1.datadoghq.com"},
	{"ddog-gov.com", "app.ddog-gov.com"},
	{"us2.ddog-gov.com", "us2.ddog-gov.com"},
}

// DatadogSites are Datadog's sites, as DD_SITE names them.
var DatadogSites = func() []string {
	out := make([]string, len(datadogSites))
	for i, s := range datadogSites {
		out[i] = s.site
	}
	return out
}()

// ParseSite reads a Datadog site in every form people copy it: the site
// alone ("datadoghq.eu"), the web app's host ("app.datadoghq.eu", as in
// Datadog's own table of sites and the browser), the API's host
// ("api.datadoghq.eu"), or a URL of either ("https://app.datadoghq.eu/").
// It returns the site alone, and false when it is none of Datadog's sites:
// a site that is not one is refused, never turned into a host that does not
// exist.
func ParseSite(raw string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(raw))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "app."), "api.")
	for _, known := range DatadogSites {
		if s == known {
			return s, true
		}
	}
	return "", false
}

// SiteAddress is the API's address of a site ParseSite accepted.
func SiteAddress(site string) string { return "https://api." + site }

// SiteOfAddress is the Datadog site whose API is at address, exactly as
// SiteAddress writes it (https, no port, no path); false for any other
// address: a proxy, a test server.
func SiteOfAddress(address string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(address))
	if err != nil || u.Scheme != "https" || u.Port() != "" || strings.Trim(u.Path, "/") != "" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	for _, s := range datadogSites {
		if host == "api."+s.site {
			return s.site, true
		}
	}
	return "", false
}

// siteApp is the web app's host of a site in datadogSites.
func siteApp(site string) string {
	for _, s := range datadogSites {
		if s.site == site {
			return s.app
		}
	}
	return ""
}
