// Package widgets is the root package of a module whose path has
// upper-case letters (escaped as "!acme/!widgets" in proxies and caches).
package widgets

// Version of the widgets API.
const Version = "0.4.1"
