package metrics

import "strings"

// DatadogSites are Datadog's sites, as DD_SITE names them.
var DatadogSites = []string{
	"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu",
	"ap1.datadoghq.com", "ap2.datadoghq.com", "uk1.datadoghq.com",
	"ddog-gov.com", "us2.ddog-gov.com",
}

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
