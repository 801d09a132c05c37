package route

import (
	"regexp"
	"strings"
)

// djangoHostSyntax is host_validation_re of django/http/request.py (Django 4.2), matched after
// lower-casing.
var djangoHostSyntax = regexp.MustCompile(`\A([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?\z`)

// HostAccepted reports whether Django accepts host as a request's Host: CommonMiddleware calls
// HttpRequest.get_host for every request, which raises DisallowedHost (a 400 before any view)
// unless split_domain_port reads a domain and validate_host finds it among allowed, Django's
// ALLOWED_HOSTS ("*" any; ".example.com" the domain and its subdomains; else exactly), with
// DEBUG off. With allowed nil (ALLOWED_HOSTS not given to the proxy) only the syntax is
// checked. An empty host (HTTP/1.0 without Host, where Django reads SERVER_NAME) is not
// accepted: Django decides it.
func HostAccepted(host string, allowed []string) bool {
	domain, ok := splitDomainPort(host)
	if !ok {
		return false
	}
	if allowed == nil {
		return true
	}
	for _, pattern := range allowed {
		pattern = strings.ToLower(pattern)
		if pattern == "*" || pattern == domain ||
			strings.HasPrefix(pattern, ".") && (strings.HasSuffix(domain, pattern) || domain == pattern[1:]) {
			return true
		}
	}
	return false
}

// splitDomainPort is Django 4.2's split_domain_port without the port: the lower-cased domain
// with one trailing dot removed, and false when the host fails the syntax (Django's "").
func splitDomainPort(host string) (string, bool) {
	host = strings.ToLower(host)
	if !djangoHostSyntax.MatchString(host) {
		return "", false
	}
	if strings.HasSuffix(host, "]") {
		return host, true // an IPv6 address without a port
	}
	domain := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		domain = host[:i]
	}
	domain = strings.TrimSuffix(domain, ".")
	return domain, domain != ""
}
